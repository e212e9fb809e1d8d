//! Runs the io_threads binary against the look-alike server on 127.0.0.1 (checks in `testkit`):
//! its downloads, the server's peak number of requests in flight showing the pool's size, its
//! failures, its command line, its `--timeline` picture, and the faults of issue 11 (hostile pages,
//! a broken environment, an exhausted machine).

use testkit::timeline;

const IO_THREADS: &str = env!("CARGO_BIN_EXE_io_threads");

// Downloads and failures.

#[test]
fn reads_the_160_pages_five_at_a_time() {
    testkit::check_downloads(IO_THREADS, 80, &[], 5);
}

#[test]
fn one_worker_downloads_one_site_at_a_time() {
    testkit::check_downloads(IO_THREADS, 12, &["--workers", "1"], 1);
}

#[test]
fn eight_workers_download_eight_sites_at_once() {
    testkit::check_downloads(IO_THREADS, 12, &["--workers", "8"], 8);
}

#[test]
fn reports_each_failure_and_reads_the_other_pages() {
    testkit::check_failures(IO_THREADS, &[]);
}

#[test]
fn the_look_alike_sites_bypass_any_proxy() {
    testkit::check_local_bypasses_proxy(IO_THREADS, &[]);
}

#[test]
fn ends_quietly_when_its_output_is_cut_short() {
    testkit::check_quiet_when_stdout_closes(
        IO_THREADS,
        &["--local", "--latency", "1", "--repeat", "20"],
    );
}

// The command line (each bad value is checked in shared's args tests; these prove the wiring).

#[test]
fn a_repeat_that_is_not_a_number_exits_2_with_clap_s_message() {
    testkit::check_refuses_a_bad_repeat(IO_THREADS);
}

#[test]
fn zero_workers_is_refused() {
    testkit::check_refuses_zero_workers(IO_THREADS);
}

// `--timeline`: a lane per thread of the pool, with a bar per download, the failed one marked
// (checks in `testkit::timeline`).

#[test]
fn the_timeline_has_a_lane_per_thread_and_a_bar_per_download() {
    let picture = timeline::downloads(IO_THREADS, &["--workers", "3"], 3);
    assert_eq!(picture.lanes, timeline::numbered("thread ", 3));
    assert_eq!(picture.rows, [1, 1, 1], "one download at a time on each thread");
}

// The faults of issue 11 (hostile pages, a broken environment, an exhausted machine): the tests
// that every I/O example passes the same way, in `faults`, then this example's own.

testkit::io_fault_tests!(IO_THREADS, Some("workers"));

#[cfg(target_os = "linux")]
#[test]
fn a_thread_the_system_refuses_ends_the_run_with_a_message() {
    // Download threads of 256 MiB stacks (RUST_MIN_STACK sizes the threads that do not choose
    // their own) cannot fit four at a time in 1 GB of address space, while everything else a run
    // needs (under 200 MB) still does: so a thread start fails at the stack, never later inside a
    // thread that started (where std itself would abort, out of the example's reach).
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "ulimit -v 1000000 && exec \"$0\" \"$@\"", IO_THREADS]);
    command.args(["--local", "--latency", "1", "--repeat", "2", "--workers", "8"]);
    command.env("RUST_MIN_STACK", "268435456");
    let finished = testkit::run(command.env("RUST_BACKTRACE", "0"));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(finished.stderr.contains("cannot start a download thread"), "{finished:#?}");
    assert!(!finished.stderr.contains("panicked"), "{finished:#?}");
}
