//! `--timeline` draws this run: a lane per thread of rayon's pool that ran a call, with a bar per
//! call of fib, whose hover text shows the value it computed (checks in `testkit::timeline`).

use testkit::timeline;

#[test]
fn the_timeline_has_a_lane_per_busy_thread_and_a_bar_per_call() {
    let picture = timeline::fib(env!("CARGO_BIN_EXE_cpu_threads"), &["--workers", "3"]);
    // rayon's threads steal work: on a busy machine one may finish the six calls before another
    // wakes up, so only the pool's size is a bound.
    let threads = timeline::numbered("thread ", 3);
    assert!(!picture.lanes.is_empty(), "{picture:#?}");
    assert!(picture.lanes.iter().all(|lane| threads.contains(lane)), "{picture:#?}");
}

/// fib's values, end to end: the bars of fib(10) and fib(35) show what the binary computed.
#[test]
fn fib_is_right() {
    timeline::fib_values(env!("CARGO_BIN_EXE_cpu_threads"), &["--workers", "2"]);
}
