//! `--timeline` draws this run: one lane, the main thread's, its downloads stacked in rows because
//! they overlapped, a bar per download, the failed one marked (checks in `shared::timeline::check`).

use shared::timeline::check;

#[test]
fn the_timeline_stacks_the_downloads_on_one_thread() {
    let picture = check::downloads(env!("CARGO_BIN_EXE_io_async"), &["--limit", "3"]);
    assert_eq!(picture.lanes, ["main thread"]);
    assert!(picture.rows[0] > 1 && picture.rows[0] <= 3, "{picture:#?}");
    let caption = picture.captions.join(" ");
    assert!(caption.contains("ran on one thread (the main thread)"), "{caption}");
}
