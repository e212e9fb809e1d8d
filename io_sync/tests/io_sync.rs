//! Runs the io_sync binary against the look-alike server on 127.0.0.1 (checks in
//! `testkit`).

const IO_SYNC: &str = env!("CARGO_BIN_EXE_io_sync");

#[test]
fn reads_the_160_pages_one_at_a_time() {
    testkit::check_downloads(IO_SYNC, 80, &[], 1);
}

#[test]
fn reports_failures_bypasses_proxies_and_refuses_bad_command_lines() {
    testkit::check_errors(IO_SYNC, &[], &[&["--workers", "5"], &["--limit", "5"]]);
}

#[test]
fn ends_quietly_when_its_output_is_cut_short() {
    testkit::check_quiet_when_stdout_closes(
        IO_SYNC,
        &["--local", "--latency", "1", "--repeat", "20"],
    );
}

#[test]
fn the_hint_after_total_failure_fits_the_run() {
    let local = ["--local", "--latency", "2000", "--timeout", "0.2", "--repeat", "1"];
    let finished = testkit::run(testkit::command(IO_SYNC).args(local));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(finished.stderr.contains("even from the look-alike sites"), "{finished:#?}");
    assert!(!finished.stderr.contains("add --local"), "{finished:#?}");

    let closed = testkit::closed_port_url();
    let finished = testkit::run(testkit::command(IO_SYNC).args([&closed, "--repeat", "1"]));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(finished.stderr.contains("nothing answered"), "{finished:#?}");
    assert!(!finished.stderr.contains("add --local"), "all on this machine: {finished:#?}");
}
