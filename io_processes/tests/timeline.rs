//! `--timeline` draws this run: a lane per worker process, with a bar per download that the worker
//! timed, the failed one marked (checks in `testkit::timeline`).

use testkit::timeline;

#[test]
fn the_timeline_has_a_lane_per_process_and_a_bar_per_download() {
    let picture = timeline::downloads(env!("CARGO_BIN_EXE_io_processes"), &["--workers", "2"], 2);
    assert_eq!(picture.lanes, timeline::numbered("Process-", 2));
    assert_eq!(picture.rows, [1, 1], "one download at a time in each process");
}
