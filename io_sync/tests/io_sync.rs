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
fn a_bad_value_exits_2_with_clap_s_message() {
    let message = "invalid value 'x' for '--repeat <N>': not a whole number: x";
    testkit::check_refused(IO_SYNC, &["--repeat", "x"], &testkit::usage_error(message));
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

// The faults of issue 11.

#[test]
fn odd_statuses_fail_naming_the_status() {
    testkit::check_odd_statuses_fail(IO_SYNC, &[]);
}

#[test]
fn huge_pages_fail_within_bounded_memory() {
    testkit::check_huge_pages_fail_within_bounded_memory(IO_SYNC, &[]);
}

#[test]
fn local_loads_no_certificates() {
    testkit::check_local_needs_no_ca_store(IO_SYNC, &[]);
}

#[test]
fn a_missing_ca_store_is_explained_before_any_download() {
    testkit::check_missing_ca_store_is_explained(IO_SYNC);
}

#[cfg(target_os = "linux")]
#[test]
fn full_stdout_and_stderr_end_with_status_1_not_a_panic() {
    testkit::check_full_stdout_and_stderr(IO_SYNC, &[]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_fails_each_download_and_says_so() {
    testkit::check_full_stdout(IO_SYNC, &[]);
}

#[test]
fn retries_once_when_the_server_closes_each_connection_silently() {
    testkit::check_retry_when_the_server_closes_silently(IO_SYNC, &[]);
}

#[test]
fn no_thread_can_start_ends_with_a_message_not_a_panic() {
    testkit::check_no_thread_can_start(IO_SYNC, &[]);
}

#[cfg(target_os = "linux")]
#[test]
fn ulimit_u_ends_with_a_message_not_a_panic() {
    testkit::check_no_process_can_start(IO_SYNC, &[]);
}

#[test]
fn an_unwritable_timeline_fails_before_any_download() {
    testkit::check_unwritable_timeline_fails_first(IO_SYNC, &[]);
}

#[test]
fn urls_are_printed_escaped() {
    testkit::check_urls_are_printed_escaped(IO_SYNC, &[]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_low_open_files_limit_notes_only_its_own_option() {
    testkit::check_open_files_note_names_only_its_option(IO_SYNC, None);
}

#[test]
fn a_dripping_page_ends_at_the_timeout() {
    testkit::check_a_dripping_page_is_bounded_by_timeout(IO_SYNC, &[]);
}
