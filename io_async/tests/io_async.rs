//! Runs the io_async binary against the look-alike server on 127.0.0.1 (checks in `testkit`): its
//! downloads, the server's peak number of requests in flight showing the limit at work, its
//! failures, its command line, its `--timeline` picture, and the faults of issue 11 (hostile pages,
//! a broken environment, an exhausted machine).

use testkit::timeline;

const IO_ASYNC: &str = env!("CARGO_BIN_EXE_io_async");

// Downloads and failures.

#[test]
fn reads_the_160_pages_at_most_100_at_a_time() {
    testkit::check_downloads(IO_ASYNC, 80, &[], 100);
}

#[test]
fn limit_above_the_number_of_sites_lets_all_of_them_run_at_once() {
    testkit::check_downloads(IO_ASYNC, 80, &["--limit", "1000"], 160);
}

#[test]
fn reports_each_failure_and_reads_the_other_pages() {
    testkit::check_failures(IO_ASYNC, &[]);
}

#[test]
fn the_look_alike_sites_bypass_any_proxy() {
    testkit::check_local_bypasses_proxy(IO_ASYNC, &[]);
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
    let summary = testkit::normalised(finished.summary(), false);
    assert_eq!(summary, "Downloaded 200 sites in X.XX seconds\n", "{finished:#?}");
    assert!(finished.stderr.contains("--limit 1000 lowered to 24"), "{finished:#?}");
}

// The command line (each bad value is checked in shared's args tests; these prove the wiring).

#[test]
fn a_repeat_that_is_not_a_number_exits_2_with_clap_s_message() {
    testkit::check_refuses_a_bad_repeat(IO_ASYNC);
}

#[test]
fn a_limit_of_0_is_refused() {
    let message = "invalid value '0' for '--limit <N>': expected a whole number from 1 to 1000000";
    testkit::check_refused(IO_ASYNC, &["--limit", "0"], &testkit::usage_error(message));
}

// `--timeline`: one lane, the main thread's, its downloads stacked in rows because they
// overlapped, a bar per download, the failed one marked (checks in `testkit::timeline`).

#[test]
fn the_timeline_stacks_the_downloads_on_one_thread() {
    let picture = timeline::downloads(IO_ASYNC, &["--limit", "3"], 3);
    assert_eq!(picture.lanes, ["main thread"]);
    assert_eq!(picture.rows, [3], "three downloads at a time, stacked: {picture:#?}");
    let caption = picture.captions.join(" ");
    assert!(caption.contains("ran on one thread (the main thread)"), "{caption}");
}

// The faults of issue 11 (hostile pages, a broken environment, an exhausted machine): the tests
// that every I/O example passes the same way, in `faults`.

testkit::io_fault_tests!(IO_ASYNC, Some("limit"));
