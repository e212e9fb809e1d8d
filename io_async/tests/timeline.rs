//! `--timeline` draws this run: one lane, the main thread's, its downloads stacked in rows because
//! they overlapped, a bar per download, the failed one marked (checks in `testkit::timeline`).

use testkit::timeline;

#[test]
fn the_timeline_stacks_the_downloads_on_one_thread() {
    let picture = timeline::downloads(env!("CARGO_BIN_EXE_io_async"), &["--limit", "3"], 3);
    assert_eq!(picture.lanes, ["main thread"]);
    assert_eq!(picture.rows, [3], "three downloads at a time, stacked: {picture:#?}");
    let caption = picture.captions.join(" ");
    assert!(caption.contains("ran on one thread (the main thread)"), "{caption}");
}
