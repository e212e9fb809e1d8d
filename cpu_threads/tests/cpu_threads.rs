//! Runs the real cpu_threads binary (checks in `testkit`): a small workload ends with the
//! tutorial's summary line for any pool size, a bad command line exits with status 2, threads
//! that cannot start are named (exit 1), and
//! `--timeline` draws a lane per thread of rayon's pool that ran a call, with a bar per call of
//! fib whose hover text shows the value it computed.

use testkit::timeline;

const CPU_THREADS: &str = env!("CARGO_BIN_EXE_cpu_threads");

/// Checks that seven calls of fib(20) on `workers` threads print only the summary.
fn check_a_small_run_on(workers: &str) {
    let args = ["--n", "20", "--repeat", "7", "--workers", workers];
    testkit::check_computes(testkit::command(CPU_THREADS).args(args));
}

#[test]
fn a_small_run_on_one_thread_prints_only_the_summary() {
    check_a_small_run_on("1");
}

#[test]
fn a_small_run_on_two_threads_prints_only_the_summary() {
    check_a_small_run_on("2");
}

#[test]
fn a_small_run_on_five_threads_prints_only_the_summary() {
    check_a_small_run_on("5");
}

#[test]
fn a_small_run_on_more_threads_than_calls_prints_only_the_summary() {
    check_a_small_run_on("32");
}

// The command line (each bad value is checked in shared's args tests; these prove the wiring).

#[test]
fn an_n_whose_fib_overflows_a_u64_exits_2_with_clap_s_message() {
    testkit::check_refuses_a_too_large_n(CPU_THREADS);
}

#[test]
fn zero_workers_is_refused() {
    testkit::check_refuses_zero_workers(CPU_THREADS);
}

#[test]
fn threads_that_cannot_start_are_named_and_exit_1() {
    testkit::check_threads_refused_are_named(CPU_THREADS, "cannot start the threads");
}

#[test]
fn the_timeline_has_a_lane_per_busy_thread_and_a_bar_per_call() {
    let picture = timeline::fib(CPU_THREADS, &["--workers", "3"]);
    // rayon's threads steal work: on a busy machine one may finish the six calls before another
    // wakes up, so only the pool's size is a bound.
    let threads = timeline::numbered("thread ", 3);
    assert!(!picture.lanes.is_empty(), "{picture:#?}");
    assert!(picture.lanes.iter().all(|lane| threads.contains(lane)), "{picture:#?}");
}

/// fib's values, end to end: the bars of fib(10) and fib(35) show what the binary computed.
#[test]
fn fib_is_right() {
    timeline::fib_values(CPU_THREADS, &["--workers", "2"]);
}
