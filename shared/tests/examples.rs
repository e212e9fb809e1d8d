//! The extra lessons in shared/examples run with small sizes against their own look-alike server on
//! 127.0.0.1, and print the lines they promise. `cargo test -p shared` builds the examples before it
//! runs this; a narrower `cargo test --test examples` does not, so then build them first
//! (`cargo build -p shared --examples`).

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;
use std::thread;
use std::time::Duration;
use std::time::Instant;

/// Long enough for a slow, busy machine; a run of these sizes takes well under a second.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Where cargo puts the example NAME: `examples/` beside the package's binaries.
fn example(name: &str) -> PathBuf {
    let sites = PathBuf::from(env!("CARGO_BIN_EXE_sites"));
    let path = sites.parent().expect("a binary lives in a folder").join("examples").join(name);
    let path = path.with_extension(std::env::consts::EXE_EXTENSION);
    assert!(path.exists(), "{} is not built: run cargo build -p shared --examples", path.display());
    path
}

/// Runs the example with `args`, killed after [`TIME_LIMIT`]: its exit success, stdout and stderr.
fn run(name: &str, args: &[&str]) -> (bool, String, String) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the example");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the example") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            panic!("{name} {args:?} ran over {TIME_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let out = out.join().expect("the stdout reader");
    let err = err.join().expect("the stderr reader");
    (status.success(), out, err)
}

/// The output with the server's port as PORT and every `N.NN seconds` as `S seconds`, its lines
/// sorted (downloads finish in any order).
fn normalised(output: &str) -> String {
    let mut lines: Vec<String> = output.lines().map(normalise_line).collect();
    lines.sort();
    lines.join("\n")
}

fn normalise_line(line: &str) -> String {
    let words: Vec<String> = line
        .split(' ')
        .map(|word| match word.split_once("127.0.0.1:") {
            Some((scheme, rest)) => {
                let path = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                format!("{scheme}127.0.0.1:PORT{path}")
            }
            None => word.to_string(),
        })
        .collect();
    let mut line = words.join(" ");
    if let Some(at) = line.find(" seconds") {
        let number_start = line[..at].rfind(' ').map_or(0, |space| space + 1);
        if line[number_start..at].parse::<f64>().is_ok() {
            line.replace_range(number_start..at, "S");
        }
    }
    line
}

/// Four downloads, two of each site, in some order, then the summary.
const FOUR_DOWNLOADS: &str = "\
Downloaded 4 sites in S seconds
Read 10966 bytes from http://127.0.0.1:PORT/www.jython.org
Read 10966 bytes from http://127.0.0.1:PORT/www.jython.org
Read 276 bytes from http://127.0.0.1:PORT/olympus.realpython.org/dice
Read 276 bytes from http://127.0.0.1:PORT/olympus.realpython.org/dice";

#[test]
fn blocking_in_async_downloads_every_site_and_draws_the_run() {
    let picture = std::env::temp_dir().join(format!("blocking-{}.svg", std::process::id()));
    let picture_arg = picture.to_str().expect("a UTF-8 temporary path");
    let args = ["--repeat", "2", "--latency", "1", "--timeline", picture_arg];
    let (ok, out, err) = run("blocking_in_async", &args);
    assert!(ok, "{err}");
    assert_eq!(normalised(&out), FOUR_DOWNLOADS);
    let svg = std::fs::read_to_string(&picture).expect("the timeline was written");
    let _ = std::fs::remove_file(&picture);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
    assert!(err.contains("Wrote the timeline of 4 downloads on 1 thread"), "{err}");
}

#[test]
fn blocking_in_async_with_spawn_blocking_downloads_every_site() {
    let (ok, out, err) =
        run("blocking_in_async", &["--spawn-blocking", "--repeat", "2", "--latency", "1"]);
    assert!(ok, "{err}");
    assert_eq!(normalised(&out), FOUR_DOWNLOADS);
}

#[test]
fn cpu_asyncio_prints_the_tutorials_line() {
    let (ok, out, err) = run("cpu_asyncio", &["--n", "15", "--repeat", "3"]);
    assert!(ok, "{err}");
    assert_eq!(normalised(&out), "Computed in S seconds");
}

#[test]
fn multi_thread_downloads_on_either_runtime_beside_a_computation() {
    for flavor in ["current-thread", "multi-thread"] {
        let args = ["--flavor", flavor, "--fib", "20", "--repeat", "2", "--latency", "1"];
        let (ok, out, err) = run("multi_thread", &args);
        assert!(ok, "{flavor}: {err}");
        let expected =
            format!("Computed fib(20) in S seconds, among the downloads\n{FOUR_DOWNLOADS}");
        assert_eq!(normalised(&out), expected, "{flavor}");
    }
}

#[test]
fn race_conditions_fixes_count_exactly_and_the_logic_race_never_over() {
    let (ok, out, err) = run("race_conditions", &[]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["AtomicU64: 500000 of 500000", "Mutex<u64>: 500000 of 500000"]);
    let racy = lines[2].strip_prefix("check-then-act on an AtomicU64: ").expect(lines[2]);
    let counted: u64 = racy.strip_suffix(" of 500000").expect(racy).parse().expect(racy);
    assert!(counted <= 500_000, "{counted}");
    assert_eq!(lines.len(), 3, "{out}");
}

#[test]
fn a_bad_option_is_refused_with_status_2() {
    for name in ["blocking_in_async", "cpu_asyncio", "multi_thread"] {
        let output = Command::new(example(name)).arg("--no-such-option").output().expect(name);
        assert_eq!(output.status.code(), Some(2), "{name}");
    }
}
