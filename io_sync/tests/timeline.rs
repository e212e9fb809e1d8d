//! `--timeline` draws this run: one lane, the main thread's, with a bar per download, the failed
//! one marked (checks in `testkit::timeline`).

use testkit::timeline;

#[test]
fn the_timeline_has_one_lane_and_a_bar_per_download() {
    let picture = timeline::downloads(env!("CARGO_BIN_EXE_io_sync"), &[], 1);
    assert_eq!(picture.lanes, ["main thread"]);
    assert_eq!(picture.rows, [1], "one download at a time");
}
