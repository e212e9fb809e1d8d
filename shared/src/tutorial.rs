//! The tutorial's data: the sites, the workload sizes, and which crate mirrors which script.

/// The two sites the tutorial downloads, in its order.
pub const SITES: [&str; 2] = ["https://www.jython.org", "http://olympus.realpython.org/dice"];

/// How often the tutorial repeats [`SITES`] (`[...] * 80`): 160 downloads in all.
pub const SITE_REPEAT: usize = 80;

/// The tutorial's CPU workload is `fib(35)` ...
pub const FIB_N: u32 = 35;

/// ... computed 20 times (`[35] * 20`).
pub const FIB_REPEAT: usize = 20;

/// The sites repeated `repeat` times in the tutorial's order: a, b, a, b, ...
pub fn repeated(sites: &[String], repeat: usize) -> Vec<String> {
    (0..repeat).flat_map(|_| sites.iter().cloned()).collect()
}

/// Which family an example belongs to: its options and its summary line depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Downloads web pages: `Downloaded 160 sites in 14.29 seconds`.
    Io,
    /// Computes `fib`: `Computed in 0.61 seconds`.
    Cpu,
}

/// One example crate and the tutorial script it mirrors.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    /// The crate, its folder and its binary: `io_threads`.
    pub name: &'static str,
    /// The tutorial's script: `io_threads.py`.
    pub script: &'static str,
    /// I/O or CPU.
    pub family: Family,
    /// The concurrency approach, in a few words.
    pub approach: &'static str,
}

/// The seven examples in the tutorial's order. `--help` and the compare command read it.
pub const EXAMPLES: [Example; 7] = [
    Example {
        name: "io_sync",
        script: "io_non_concurrent.py",
        family: Family::Io,
        approach: "one HTTP client, downloads one after another",
    },
    Example {
        name: "io_threads",
        script: "io_threads.py",
        family: Family::Io,
        approach: "a pool of 5 threads sharing one client",
    },
    Example {
        name: "io_async",
        script: "io_asyncio.py",
        family: Family::Io,
        approach: "futures on one thread (tokio current_thread), at most --limit at once (buffer_unordered)",
    },
    Example {
        name: "io_processes",
        script: "io_processes.py",
        family: Family::Io,
        approach: "a pool of worker processes, one per CPU",
    },
    Example {
        name: "cpu_sync",
        script: "cpu_non_concurrent.py",
        family: Family::Cpu,
        approach: "fib in a loop",
    },
    Example {
        name: "cpu_threads",
        script: "cpu_threads.py",
        family: Family::Cpu,
        approach: "fib on a pool of 5 threads",
    },
    Example {
        name: "cpu_processes",
        script: "cpu_processes.py",
        family: Family::Cpu,
        approach: "fib on a pool of worker processes",
    },
];

/// The example that mirrors `script`, if any.
pub fn example_for(script: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|example| example.script == script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_repeat_in_the_tutorial_order() {
        let sites: Vec<String> = SITES.iter().map(|s| s.to_string()).collect();
        let all = repeated(&sites, SITE_REPEAT);
        assert_eq!(all.len(), 160);
        assert_eq!(all[0], "https://www.jython.org");
        assert_eq!(all[1], "http://olympus.realpython.org/dice");
        assert_eq!(all[158], all[0]);
        assert_eq!(all[159], all[1]);
    }

    #[test]
    fn every_example_has_a_script() {
        for example in &EXAMPLES {
            assert_eq!(example_for(example.script).unwrap().name, example.name);
        }
    }
}
