//! Runs the io_sync binary against the look-alike server on 127.0.0.1 (checks in `testkit`): its
//! downloads and failures, its command line, its `--timeline` picture, and the faults of issue 11
//! (hostile pages, a broken environment, an exhausted machine).

use testkit::timeline;

const IO_SYNC: &str = env!("CARGO_BIN_EXE_io_sync");

// Downloads and failures.

#[test]
fn reads_the_160_pages_one_at_a_time() {
    testkit::check_downloads(IO_SYNC, 80, &[], 1);
}

#[test]
fn reports_each_failure_and_reads_the_other_pages() {
    testkit::check_failures(IO_SYNC, &[]);
}

#[test]
fn the_look_alike_sites_bypass_any_proxy() {
    testkit::check_local_bypasses_proxy(IO_SYNC, &[]);
}

#[test]
fn ends_quietly_when_its_output_is_cut_short() {
    testkit::check_quiet_when_stdout_closes(
        IO_SYNC,
        &["--local", "--latency", "1", "--repeat", "20"],
    );
}

#[test]
fn the_hint_after_total_failure_on_the_look_alike_sites_blames_the_timeout() {
    let local = ["--local", "--latency", "2000", "--timeout", "0.2", "--repeat", "1"];
    let finished = testkit::run(testkit::command(IO_SYNC).args(local));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(finished.stderr.contains("even from the look-alike sites"), "{finished:#?}");
    assert!(!finished.stderr.contains("add --local"), "{finished:#?}");
}

#[test]
fn the_hint_after_total_failure_on_this_machine_does_not_suggest_local() {
    let closed = testkit::closed_port_url();
    let finished = testkit::run(testkit::command(IO_SYNC).args([&closed, "--repeat", "1"]));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(finished.stderr.contains("nothing answered"), "{finished:#?}");
    assert!(!finished.stderr.contains("add --local"), "all on this machine: {finished:#?}");
}

// The command line (each bad value is checked in shared's args tests; these prove the wiring).

#[test]
fn a_repeat_that_is_not_a_number_exits_2_with_clap_s_message() {
    testkit::check_refuses_a_bad_repeat(IO_SYNC);
}

#[test]
fn workers_is_refused_as_the_tutorial_s_script_has_none() {
    let stderr = "error: unexpected argument '--workers' found\n\n  \
                  tip: to pass '--workers' as a value, use '-- --workers'\n\n\
                  Usage: io_sync [OPTIONS] [URL]...\n\nFor more information, try '--help'.\n";
    testkit::check_refused(IO_SYNC, &["--workers", "5"], stderr);
}

// `--timeline`: one lane, the main thread's, with a bar per download, the failed one marked
// (checks in `testkit::timeline`).

#[test]
fn the_timeline_has_one_lane_and_a_bar_per_download() {
    let picture = timeline::downloads(IO_SYNC, &[], 1);
    assert_eq!(picture.lanes, ["main thread"]);
    assert_eq!(picture.rows, [1], "one download at a time");
}

// The faults of issue 11 (hostile pages, a broken environment, an exhausted machine): the tests
// that every I/O example passes the same way, in `faults`.

testkit::io_fault_tests!(IO_SYNC, None);
