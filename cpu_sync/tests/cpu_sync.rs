//! Runs the real cpu_sync binary (checks in `testkit`): a small workload ends with the tutorial's
//! summary line, a bad command line exits with status 2, and `--timeline` draws one lane, the
//! main thread's, with a bar per call of fib whose hover text shows the value it computed.

use testkit::timeline;

const CPU_SYNC: &str = env!("CARGO_BIN_EXE_cpu_sync");

#[test]
fn a_small_run_prints_only_the_summary() {
    testkit::check_computes(testkit::command(CPU_SYNC).args(["--n", "20", "--repeat", "3"]));
}

#[test]
fn a_bad_command_line_exits_2() {
    testkit::check_bad_cpu_command_lines(CPU_SYNC, &[&["--workers", "2"]]);
}

#[test]
fn the_timeline_has_one_lane_and_a_bar_per_call() {
    let picture = timeline::fib(env!("CARGO_BIN_EXE_cpu_sync"), &[]);
    assert_eq!(picture.lanes, ["main thread"]);
}

/// fib's values, end to end: the bars of fib(10) and fib(35) show what the binary computed.
#[test]
fn fib_is_right() {
    timeline::fib_values(env!("CARGO_BIN_EXE_cpu_sync"), &[]);
}
