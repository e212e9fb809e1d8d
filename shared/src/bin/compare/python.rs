//! The reader's Python: which interpreter each `--python` is, and the tutorial's scripts copied
//! into a folder of compare's own, pointed at the look-alike server and sized as the options say.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::Options;

/// The tutorial's eight scripts in its order, with their family (`true`: I/O) and approach.
pub const SCRIPTS: [(&str, bool, &str); 8] = [
    ("io_non_concurrent.py", true, "sync"),
    ("io_threads.py", true, "threads"),
    ("io_asyncio.py", true, "async"),
    ("io_processes.py", true, "processes"),
    ("cpu_non_concurrent.py", false, "sync"),
    ("cpu_threads.py", false, "threads"),
    ("cpu_asyncio.py", false, "async"),
    ("cpu_processes.py", false, "processes"),
];

/// How many downloads aiohttp's `ClientSession` runs at once by default (its connector's limit):
/// io_asyncio.py's width.
pub const AIOHTTP_LIMIT: usize = 100;

/// One `--python`, as it answered.
pub struct Interpreter {
    /// As given: `python3.11`, `/opt/python3.14t/bin/python3`.
    pub path: PathBuf,
    /// `CPython 3.11.7, GIL on`.
    pub label: String,
}

/// Asks `path` for its implementation, version and GIL state (`sys._is_gil_enabled()` where it
/// exists, 3.13 on; before that the GIL is always on). An error says why it did not answer.
pub fn probe(path: &Path) -> anyhow::Result<Interpreter> {
    const ASK: &str = "import platform, sys; print(platform.python_implementation(), \
                       platform.python_version(), getattr(sys, '_is_gil_enabled', lambda: True)())";
    let mut child = Command::new(path)
        .args(["-c", ASK])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!("--python {}: cannot run it", crate::printable(&path.display().to_string()))
        })?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "--python {}: no answer within 30 s",
                crate::printable(&path.display().to_string())
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output()?;
    let answer = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = answer.split_whitespace().collect();
    let [implementation, version, gil] = fields[..] else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "--python {}: not a Python that answers ({}): {}",
            crate::printable(&path.display().to_string()),
            output.status,
            crate::printable(&crate::guard::tail(&stderr, 3))
        );
    };
    let gil = gil != "False";
    let state = if gil { "GIL on" } else { "GIL off" };
    let label = crate::printable(&format!("{implementation} {version}, {state}"));
    Ok(Interpreter { path: path.to_path_buf(), label })
}

/// Copies each script of `SCRIPTS` found in `tutorial` into `into`, rewritten by [`rewrite`].
/// Returns the scripts found, and an error per script that could not be set up.
pub fn prepare(
    tutorial: &Path,
    into: &Path,
    urls: &[String; 2],
    options: &Options,
    processes: usize,
) -> anyhow::Result<Vec<(&'static str, Result<PathBuf, String>)>> {
    if !tutorial.is_dir() {
        bail!("--tutorial {}: not a folder", tutorial.display());
    }
    let mut found = Vec::new();
    for (script, io, approach) in SCRIPTS {
        let Ok(text) = std::fs::read_to_string(tutorial.join(script)) else { continue };
        let prepared = rewrite(&text, io, approach, urls, options, processes).and_then(|text| {
            let path = into.join(script);
            std::fs::write(&path, text)
                .map_err(|error| format!("cannot write {path:?}: {error}"))?;
            Ok(path)
        });
        found.push((script, prepared));
    }
    if found.is_empty() {
        bail!(
            "--tutorial {}: none of the tutorial's scripts is there ({}, ...); it is the \
             python-concurrency folder of a realpython/materials checkout",
            tutorial.display(),
            SCRIPTS[0].0
        );
    }
    Ok(found)
}

/// The script with the two sites replaced by `urls` (the look-alike server's), and the workload
/// and pool sizes replaced by the options' where they differ from the tutorial's. A size that
/// differs but cannot be found in the script is an error, never a silent mismatch.
fn rewrite(
    text: &str,
    io: bool,
    approach: &str,
    urls: &[String; 2],
    options: &Options,
    processes: usize,
) -> Result<String, String> {
    let mut text = text.to_string();
    let (repeat, n, times) = (options.repeat, options.n, options.fib_repeat);
    if io {
        let sites = shared::tutorial::SITES;
        set(&mut text, &sites, urls, true, "the look-alike server's URLs")?;
        set(&mut text, &["] * 80"], &[format!("] * {repeat}")], repeat != 80, "--repeat")?;
    } else {
        set(&mut text, &["[35] * 20"], &[format!("[{n}] * {times}")], false, "")?;
        set(&mut text, &["fib(35)"], &[format!("fib({n})")], false, "")?;
        set(&mut text, &["range(20)"], &[format!("range({times})")], false, "")?;
        let sized = |value: String| text.contains(&value);
        if (n != 35 && !sized(format!("[{n}]")) && !sized(format!("fib({n})")))
            || (times != 20 && !sized(format!("] * {times}")) && !sized(format!("range({times})")))
        {
            return Err("cannot set --n or --fib-repeat: no `[35] * 20`, `fib(35)` or \
                        `range(20)` in the script"
                .into());
        }
    }
    match approach {
        "threads" => {
            let workers = options.workers;
            set(
                &mut text,
                &["max_workers=5"],
                &[format!("max_workers={workers}")],
                workers != 5,
                "--workers",
            )?
        }
        "processes" => set(
            &mut text,
            &["ProcessPoolExecutor("],
            &[format!("ProcessPoolExecutor(max_workers={processes}, ")],
            true,
            "the process pool's size",
        )?,
        _ => {}
    }
    Ok(text)
}

/// Replaces each of `from` with its `to`; an error when `needed` and none of `from` is in `text`.
fn set(
    text: &mut String,
    from: &[&str],
    to: &[String],
    needed: bool,
    what: &str,
) -> Result<(), String> {
    if needed && !from.iter().any(|pattern| text.contains(pattern)) {
        return Err(format!("cannot set {what}: none of {from:?} is in the script"));
    }
    for (pattern, replacement) in from.iter().zip(to) {
        *text = text.replace(pattern, replacement);
    }
    Ok(())
}

/// The seconds in a Python script's last line, which prints the raw float
/// (`Computed in 23.30846 seconds`), or for I/O `Downloaded 160 sites in 14.71 seconds`.
pub fn parse_summary(line: &str, io: bool, sites: usize) -> Option<f64> {
    let rest = if io {
        line.strip_prefix(&format!("Downloaded {sites} sites in "))?
    } else {
        line.strip_prefix("Computed in ")?
    };
    let seconds: f64 = rest.strip_suffix(" seconds")?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_pointed_at_the_server_and_sized_as_told() {
        use clap::Parser;
        let options =
            Options::parse_from(["compare", "--repeat", "2", "--n", "20", "--workers", "3"]);
        let urls = [
            "http://127.0.0.1:9/www.jython.org".to_string(),
            "http://127.0.0.1:9/dice".to_string(),
        ];
        let io = "sites = [\"https://www.jython.org\", \"http://olympus.realpython.org/dice\"] * 80\nThreadPoolExecutor(max_workers=5)";
        let rewritten = rewrite(io, true, "threads", &urls, &options, 2).unwrap();
        assert_eq!(
            rewritten,
            "sites = [\"http://127.0.0.1:9/www.jython.org\", \"http://127.0.0.1:9/dice\"] * 2\nThreadPoolExecutor(max_workers=3)"
        );
        let cpu = "with ProcessPoolExecutor() as executor:\n    executor.map(fib, [35] * 20)";
        let rewritten = rewrite(cpu, false, "processes", &urls, &options, 2).unwrap();
        assert_eq!(
            rewritten,
            "with ProcessPoolExecutor(max_workers=2, ) as executor:\n    executor.map(fib, [20] * 20)"
        );
        assert!(rewrite("fib(40)", false, "sync", &urls, &options, 2).unwrap_err().contains("--n"));
        assert!(rewrite("print()", true, "sync", &urls, &options, 2).unwrap_err().contains("URLs"));
    }

    #[test]
    fn the_summary_lines_parse_with_pythons_raw_floats() {
        assert_eq!(parse_summary("Computed in 23.308 seconds", false, 0), Some(23.308));
        assert_eq!(parse_summary("Downloaded 4 sites in 0.5 seconds", true, 4), Some(0.5));
        assert_eq!(parse_summary("Downloaded 3 sites in 0.5 seconds", true, 4), None);
        assert_eq!(parse_summary("Computed in nan seconds", false, 0), None);
        assert_eq!(parse_summary("Computed in -1 seconds", false, 0), None);
    }
}
