//! `--timeline` draws this run: one lane, the main thread's, with a bar per call of fib (checks in
//! `shared::timeline::check`).

use shared::timeline::check;

#[test]
fn the_timeline_has_one_lane_and_a_bar_per_call() {
    let picture = check::fib(env!("CARGO_BIN_EXE_cpu_sync"), &[]);
    assert_eq!(picture.lanes, ["main thread"]);
}
