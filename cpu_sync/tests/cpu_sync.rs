//! Runs the real cpu_sync binary (checks in `testkit`): a small workload ends with the tutorial's
//! summary line, a bad command line exits with status 2, and `--timeline` draws one lane, the
//! main thread's, with a bar per call of fib whose hover text shows the value it computed.

use testkit::timeline;

const CPU_SYNC: &str = env!("CARGO_BIN_EXE_cpu_sync");

#[test]
fn a_small_run_prints_only_the_summary() {
    testkit::check_computes(testkit::command(CPU_SYNC).args(["--n", "20", "--repeat", "3"]));
}

// The command line (each bad value is checked in shared's args tests; these prove the wiring).

#[test]
fn an_n_whose_fib_overflows_a_u64_exits_2_with_clap_s_message() {
    testkit::check_refuses_a_too_large_n(CPU_SYNC);
}

#[test]
fn workers_is_refused_as_the_tutorial_s_script_has_none() {
    let stderr = "error: unexpected argument '--workers' found\n\n\
                  Usage: cpu_sync [OPTIONS]\n\nFor more information, try '--help'.\n";
    testkit::check_refused(CPU_SYNC, &["--workers", "2"], stderr);
}

#[test]
fn the_timeline_has_one_lane_and_a_bar_per_call() {
    let picture = timeline::fib(CPU_SYNC, &[]);
    assert_eq!(picture.lanes, ["main thread"]);
}

/// fib's values, end to end: the bars of fib(10) and fib(35) show what the binary computed.
#[test]
fn fib_is_right() {
    timeline::fib_values(CPU_SYNC, &[]);
}

/// `--timeline` at a FIFO is refused at start: opening it for writing would wait for a reader
/// without end.
#[cfg(unix)]
#[test]
fn a_timeline_that_is_not_a_regular_file_is_refused_at_start() {
    let fifo = std::env::temp_dir().join(format!("timeline-fifo-{}", std::process::id()));
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|status| status.success()) {
        return eprintln!("skipped: mkfifo is not available here");
    }
    let finished = testkit::run(testkit::command(CPU_SYNC).arg("--timeline").arg(&fifo));
    let _ = std::fs::remove_file(&fifo);
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert_eq!(finished.stdout, "", "{finished:#?}");
    let expected = format!("Cannot write the timeline to {}: not a regular file\n", fifo.display());
    assert_eq!(finished.stderr, expected, "{finished:#?}");
}

/// With `--timeline` and stderr at /dev/full, the note that the picture was written cannot be
/// written: the run still ends well, without a panic (it was exit 101).
#[cfg(target_os = "linux")]
#[test]
fn a_timeline_with_a_full_stderr_ends_well_not_in_a_panic() {
    let path =
        std::env::temp_dir().join(format!("timeline-full-stderr-{}.svg", std::process::id()));
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let mut command = testkit::command(CPU_SYNC);
    command.args(["--n", "5", "--repeat", "1", "--timeline"]).arg(&path);
    let code = testkit::run_writing_to(&mut command, std::process::Stdio::null(), full().into());
    let drawn = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, Some(0));
    assert!(drawn.starts_with("<svg"), "the picture is written all the same: {drawn:?}");
}
