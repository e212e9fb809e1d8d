//! `--timeline` draws this run: one lane, the main thread's, with a bar per call of fib, whose hover
//! text shows the value it computed (checks in `testkit::timeline`).

use testkit::timeline;

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
