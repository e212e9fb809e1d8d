//! `--timeline` draws this run: a lane per worker process, with a bar per call of fib that the
//! worker timed and whose hover text shows the value it sent back, and a worker killed mid-call leaves a failed bar (checks in
//! `testkit::timeline`).

use testkit::timeline;

const BIN: &str = env!("CARGO_BIN_EXE_cpu_processes");

#[test]
fn the_timeline_has_a_lane_per_process_and_a_bar_per_call() {
    let picture = timeline::fib(BIN, &["--workers", "2"]);
    assert_eq!(picture.lanes, timeline::numbered("Process-", 2));
}

#[cfg(target_os = "linux")]
#[test]
fn a_worker_killed_mid_call_leaves_a_failed_bar() {
    let path = std::env::temp_dir().join(format!("timeline-killed-{}.svg", std::process::id()));
    let timeline = path.to_str().expect("a UTF-8 temporary folder");
    // fib(44) takes a second or more: long enough to be killed mid-call even on a busy machine.
    let args = ["--n", "44", "--repeat", "2", "--workers", "2", "--timeline", timeline];
    let (finished, _) =
        testkit::pool::kill_busy_worker(BIN, &args, 2, |line| line.task() == Some(0));
    assert_eq!(finished.code, Some(1), "{finished:?}");
    let svg = std::fs::read_to_string(&path).expect("the timeline is written all the same");
    let _ = std::fs::remove_file(&path);
    let picture = timeline::Picture::parse(&svg);
    assert_eq!((picture.tasks, picture.failed_tasks), (2, 1), "{picture:#?}");
    assert!(picture.failed[0].starts_with("fib (failed): "), "{picture:#?}");
}

/// fib's values, end to end: the bars of fib(10) and fib(35) show what the binary computed.
#[test]
fn fib_is_right() {
    timeline::fib_values(BIN, &["--workers", "2"]);
}
