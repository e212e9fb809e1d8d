//! Runs the io_async binary against the look-alike server on 127.0.0.1 (checks in
//! `testkit`). The server's peak number of requests in flight shows the limit at work.

const IO_ASYNC: &str = env!("CARGO_BIN_EXE_io_async");

#[test]
fn reads_the_160_pages_at_most_100_at_a_time() {
    testkit::check_downloads(IO_ASYNC, 80, &[], 100);
}

#[test]
fn limit_above_the_number_of_sites_lets_all_of_them_run_at_once() {
    testkit::check_downloads(IO_ASYNC, 80, &["--limit", "1000"], 160);
}

#[test]
fn reports_failures_bypasses_proxies_and_refuses_bad_command_lines() {
    testkit::check_errors(IO_ASYNC, &[], &[&["--limit", "0"], &["--workers", "5"]]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_low_open_files_limit_lowers_the_limit_instead_of_failing_downloads() {
    // `ulimit -n` in sh lowers the hard limit too, so the server cannot raise it again.
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "ulimit -n 128 && exec \"$0\" \"$@\"", IO_ASYNC]);
    command.args(["--local", "--latency", "20", "--limit", "1000", "--repeat", "100"]);
    let finished = testkit::run(&mut command);
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert!(finished.summary().starts_with("Downloaded 200 sites in "), "{finished:#?}");
    assert!(finished.stderr.contains("--limit 1000 lowered to 24"), "{finished:#?}");
}
