//! `--timeline` draws this run: a lane per thread of the pool, with a bar per download, the failed
//! one marked (checks in `testkit::timeline`).

use testkit::timeline;

#[test]
fn the_timeline_has_a_lane_per_thread_and_a_bar_per_download() {
    let picture = timeline::downloads(env!("CARGO_BIN_EXE_io_threads"), &["--workers", "3"], 3);
    assert_eq!(picture.lanes, timeline::numbered("thread ", 3));
    assert_eq!(picture.rows, [1, 1, 1], "one download at a time on each thread");
}
