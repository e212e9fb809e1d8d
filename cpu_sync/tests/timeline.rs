//! `--timeline` draws this run: one lane, the main thread's, with a bar per call of fib (checks in
//! `testkit::timeline`).

use testkit::timeline;

#[test]
fn the_timeline_has_one_lane_and_a_bar_per_call() {
    let picture = timeline::fib(env!("CARGO_BIN_EXE_cpu_sync"), &[]);
    assert_eq!(picture.lanes, ["main thread"]);
}
