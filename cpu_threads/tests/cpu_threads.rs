//! Runs the real cpu_threads binary (checks in `testkit`): a small workload ends with the
//! tutorial's summary line for any pool size, a bad command line exits with status 2, and
//! `--timeline` draws a lane per thread of rayon's pool that ran a call, with a bar per call of
//! fib whose hover text shows the value it computed.

use testkit::timeline;

const CPU_THREADS: &str = env!("CARGO_BIN_EXE_cpu_threads");

#[test]
fn a_small_run_prints_only_the_summary() {
    for workers in ["1", "2", "5", "32"] {
        let args = ["--n", "20", "--repeat", "7", "--workers", workers];
        testkit::check_computes(testkit::command(CPU_THREADS).args(args));
    }
}

#[test]
fn a_bad_command_line_exits_2() {
    testkit::check_bad_cpu_command_lines(CPU_THREADS, &[&["--workers", "0"]]);
}

#[test]
fn the_timeline_has_a_lane_per_busy_thread_and_a_bar_per_call() {
    let picture = timeline::fib(env!("CARGO_BIN_EXE_cpu_threads"), &["--workers", "3"]);
    // rayon's threads steal work: on a busy machine one may finish the six calls before another
    // wakes up, so only the pool's size is a bound.
    let threads = timeline::numbered("thread ", 3);
    assert!(!picture.lanes.is_empty(), "{picture:#?}");
    assert!(picture.lanes.iter().all(|lane| threads.contains(lane)), "{picture:#?}");
}

/// fib's values, end to end: the bars of fib(10) and fib(35) show what the binary computed.
#[test]
fn fib_is_right() {
    timeline::fib_values(env!("CARGO_BIN_EXE_cpu_threads"), &["--workers", "2"]);
}
