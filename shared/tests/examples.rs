//! The extra lessons in shared/examples run with small sizes against their own look-alike server on
//! 127.0.0.1, and print the lines they promise. `cargo test -p shared` builds the examples before it
//! runs this; a narrower `cargo test --test examples` does not, so then build them first
//! (`cargo build -p shared --examples`). The last section compiles race_conditions' direct port of
//! race_condition.py, which must be refused.

use std::path::PathBuf;
use std::process::Command;

/// Where cargo puts the example NAME: `examples/` beside the package's binaries.
fn example(name: &str) -> PathBuf {
    let sites = PathBuf::from(env!("CARGO_BIN_EXE_sites"));
    let path = sites.parent().expect("a binary lives in a folder").join("examples").join(name);
    let path = path.with_extension(std::env::consts::EXE_EXTENSION);
    assert!(path.exists(), "{} is not built: run cargo build -p shared --examples", path.display());
    path
}

/// Runs the example with `args` through testkit's runner (killed past its time limit): its exit
/// success, stdout and stderr.
fn run(name: &str, args: &[&str]) -> (bool, String, String) {
    let finished = testkit::run(Command::new(example(name)).args(args));
    (finished.code == Some(0), finished.stdout, finished.stderr)
}

/// The output with ports and seconds normalised and the `Read` lines sorted (downloads finish in
/// any order), as testkit writes it for every example.
fn normalised(output: &str) -> String {
    testkit::normalised(output, true)
}

/// Four downloads, two of each site, in some order.
const FOUR_READS: &str = "\
Read 10966 bytes from http://127.0.0.1:PORT/www.jython.org
Read 10966 bytes from http://127.0.0.1:PORT/www.jython.org
Read 276 bytes from http://127.0.0.1:PORT/olympus.realpython.org/dice
Read 276 bytes from http://127.0.0.1:PORT/olympus.realpython.org/dice
";

/// The four downloads, then the summary.
const FOUR_DOWNLOADS: &str = "\
Read 10966 bytes from http://127.0.0.1:PORT/www.jython.org
Read 10966 bytes from http://127.0.0.1:PORT/www.jython.org
Read 276 bytes from http://127.0.0.1:PORT/olympus.realpython.org/dice
Read 276 bytes from http://127.0.0.1:PORT/olympus.realpython.org/dice
Downloaded 4 sites in X.XX seconds
";

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
    assert_eq!(normalised(&out), "Computed in X.XX seconds\n");
}

/// Checks that multi_thread, on the tokio runtime `flavor`, downloads four sites and computes
/// fib(20) among them.
fn check_multi_thread_on(flavor: &str) {
    let args = ["--flavor", flavor, "--fib", "20", "--repeat", "2", "--latency", "1"];
    let (ok, out, err) = run("multi_thread", &args);
    assert!(ok, "{flavor}: {err}");
    // The summary comes before the computation's line, so it is sorted in among the reads.
    let computed = "Computed fib(20) in X.XX seconds, among the downloads\n";
    let expected = format!("Downloaded 4 sites in X.XX seconds\n{FOUR_READS}{computed}");
    assert_eq!(normalised(&out), expected, "{flavor}");
}

#[test]
fn multi_thread_downloads_on_the_current_thread_runtime_beside_a_computation() {
    check_multi_thread_on("current-thread");
}

#[test]
fn multi_thread_downloads_on_the_multi_thread_runtime_beside_a_computation() {
    check_multi_thread_on("multi-thread");
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
fn blocking_in_async_refuses_a_bad_option_with_status_2() {
    check_refuses_a_bad_option("blocking_in_async");
}

#[test]
fn cpu_asyncio_refuses_a_bad_option_with_status_2() {
    check_refuses_a_bad_option("cpu_asyncio");
}

#[test]
fn multi_thread_refuses_a_bad_option_with_status_2() {
    check_refuses_a_bad_option("multi_thread");
}

/// Checks that the example `name` refuses an option it does not have: exit status 2, nothing on
/// stdout.
fn check_refuses_a_bad_option(name: &str) {
    let output = Command::new(example(name)).arg("--no-such-option").output().expect(name);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
}

// race_conditions' direct port.
//
// The direct port of race_condition.py is a `compile_fail,E0499` block in the header of the
// `race_conditions` example (shared/examples/race_conditions.rs), which no tool compiles by itself
// (and stable rustdoc would not check a `compile_fail` block's error code: it would pass if the
// port failed for any other reason, such as a typo). This test compiles the block with rustc,
// against the crossbeam that cargo built for these tests, and checks that E0499 is its only error.

const DOC: &str = include_str!("../examples/race_conditions.rs");

/// The lines of the header's `compile_fail,E0499` block, without their `//! ` prefix.
fn direct_port() -> String {
    let start = "//! ```compile_fail,E0499\n";
    let at = DOC.find(start).expect("the doc has a compile_fail,E0499 block") + start.len();
    let end = DOC[at..].find("//! ```\n").expect("the block ends") + at;
    let lines = DOC[at..end].lines().map(|line| line.trim_start_matches("//!"));
    lines.map(|line| line.strip_prefix(' ').unwrap_or(line)).collect::<Vec<_>>().join("\n")
}

/// cargo puts this test and the crates it depends on in the same `deps` folder.
fn deps_folder() -> PathBuf {
    let test = std::env::current_exe().expect("a test knows where it runs from");
    test.parent().expect("a test binary lives in a folder").to_path_buf()
}

#[test]
fn the_direct_port_is_refused_with_e0499_only() {
    let deps = deps_folder();
    let mut crossbeams: Vec<PathBuf> = std::fs::read_dir(&deps)
        .expect("reading the deps folder")
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            name.starts_with("libcrossbeam-") && name.ends_with(".rlib")
        })
        .collect();
    crossbeams.sort();
    let crossbeam = crossbeams.first().expect("cargo built crossbeam next to this test");

    let folder = std::env::temp_dir().join(format!("race-port-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("creating a temporary folder");
    let source = folder.join("port.rs");
    std::fs::write(&source, format!("fn main() {{\n{}\n}}\n", direct_port())).unwrap();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .args(["--edition", "2024", "--emit", "metadata", "--error-format", "short", "--out-dir"])
        .arg(&folder)
        .arg("-L")
        .arg(format!("dependency={}", deps.display()))
        .arg("--extern")
        .arg(format!("crossbeam={}", crossbeam.display()))
        .arg(&source)
        .output()
        .expect("running rustc");
    let _ = std::fs::remove_dir_all(&folder);

    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the direct port compiled:\n{errors}");
    let mut codes: Vec<&str> =
        errors.match_indices("error[E").map(|(at, _)| &errors[at..at + 11]).collect();
    codes.dedup();
    assert_eq!(codes, ["error[E0499"], "{errors}");
}
