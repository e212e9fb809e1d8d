//! The faults of issue 11 against the io_threads binary: hostile pages, a broken environment, an
//! exhausted machine (checks in `testkit`).

const IO_THREADS: &str = env!("CARGO_BIN_EXE_io_threads");

#[test]
fn odd_statuses_fail_naming_the_status() {
    testkit::check_odd_statuses_fail(IO_THREADS, &[]);
}

#[test]
fn huge_pages_fail_within_bounded_memory() {
    testkit::check_huge_pages_fail_within_bounded_memory(IO_THREADS, &[]);
}

#[test]
fn local_loads_no_certificates() {
    testkit::check_local_needs_no_ca_store(IO_THREADS, &[]);
}

#[test]
fn a_missing_ca_store_is_explained_before_any_download() {
    testkit::check_missing_ca_store_is_explained(IO_THREADS);
}

#[cfg(target_os = "linux")]
#[test]
fn full_stdout_and_stderr_end_with_status_1_not_a_panic() {
    testkit::check_full_stdout_and_stderr(IO_THREADS, &[]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_fails_each_download_and_says_so() {
    testkit::check_full_stdout(IO_THREADS, &[]);
}

#[test]
fn retries_once_when_the_server_closes_each_connection_silently() {
    testkit::check_retry_when_the_server_closes_silently(IO_THREADS, &[]);
}

#[test]
fn no_thread_can_start_ends_with_a_message_not_a_panic() {
    testkit::check_no_thread_can_start(IO_THREADS, &[]);
}

#[cfg(target_os = "linux")]
#[test]
fn ulimit_u_ends_with_a_message_not_a_panic() {
    testkit::check_no_process_can_start(IO_THREADS, &[]);
}

#[test]
fn an_unwritable_timeline_fails_before_any_download() {
    testkit::check_unwritable_timeline_fails_first(IO_THREADS, &[]);
}

#[test]
fn urls_are_printed_escaped() {
    testkit::check_urls_are_printed_escaped(IO_THREADS, &[]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_thread_the_system_refuses_ends_the_run_with_a_message() {
    // 1000 threads of 2 MiB stacks cannot fit in 400 MB of address space (a run needs under 200).
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "ulimit -v 400000 && exec \"$0\" \"$@\"", IO_THREADS]);
    command.args(["--local", "--latency", "1", "--repeat", "2", "--workers", "1000"]);
    let finished = testkit::run(command.env("RUST_BACKTRACE", "0"));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(finished.stderr.contains("cannot start a download thread"), "{finished:#?}");
    assert!(!finished.stderr.contains("panicked"), "{finished:#?}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_low_open_files_limit_notes_only_its_own_option() {
    testkit::check_open_files_note_names_only_its_option(IO_THREADS, Some("workers"));
}

#[test]
fn a_dripping_page_ends_at_the_timeout() {
    testkit::check_a_dripping_page_is_bounded_by_timeout(IO_THREADS, &[]);
}
