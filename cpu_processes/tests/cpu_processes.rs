//! Runs the real cpu_processes binary, with the pool's trace on to see what each worker did.

use std::collections::BTreeSet;
use std::time::Duration;

use shared::pool::WORKER_FLAG;
use shared::pool::testing::{Finished, KillOnDrop, Run, TraceLine, run};

const BIN: &str = env!("CARGO_BIN_EXE_cpu_processes");
const DEADLINE: Duration = Duration::from_secs(60);

fn traced(args: &[&str]) -> (Finished, Vec<TraceLine>) {
    let finished = Run::start(BIN, args, true).finish(DEADLINE);
    let trace = finished.stderr.lines().filter_map(TraceLine::parse).collect();
    (finished, trace)
}

fn workers_that(trace: &[TraceLine], event: &str) -> BTreeSet<String> {
    trace.iter().filter(|line| line.event == event).map(|line| line.worker.clone()).collect()
}

#[test]
fn every_worker_computes_correct_results() {
    let (finished, trace) = traced(&["--n", "20", "--repeat", "9", "--workers", "3"]);
    assert_eq!(finished.code(), Some(0), "{finished:?}");
    let lines = finished.lines();
    assert_eq!(lines.len(), 1, "{finished:?}");
    assert!(lines[0].starts_with("Computed in ") && lines[0].ends_with(" seconds"), "{}", lines[0]);
    let expected: BTreeSet<String> = (1..=3).map(|k| format!("Process-{k}")).collect();
    assert_eq!(workers_that(&trace, "ready"), expected);
    assert_eq!(workers_that(&trace, "runs"), expected);
    let done: Vec<&TraceLine> = trace.iter().filter(|line| line.event == "done").collect();
    assert_eq!(done.len(), 9, "{}", finished.stderr);
    let tasks: BTreeSet<usize> = done.iter().filter_map(|line| line.task()).collect();
    assert_eq!(tasks, (0..9).collect());
    for line in done {
        assert_eq!(line.value(), Some("ok 6765"), "fib(20) is 6765");
    }
}

#[test]
fn one_worker_per_cpu_by_default() {
    let (finished, trace) = traced(&["--n", "1", "--repeat", "1"]);
    assert_eq!(finished.code(), Some(0), "{finished:?}");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(workers_that(&trace, "ready").len(), cpus);
}

#[test]
fn start_up_can_be_measured_from_outside() {
    let startup = shared::pool::measure_startup(std::path::Path::new(BIN), 2);
    assert!(startup.expect("two workers start") > Duration::ZERO);
}

#[test]
fn help_does_not_show_the_worker_mode() {
    let finished = run(BIN, &["--help"], DEADLINE);
    assert_eq!(finished.code(), Some(0));
    assert!(finished.stdout.contains("--workers"));
    assert!(!finished.stdout.contains(WORKER_FLAG));
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_worker_is_counted_as_failed() {
    use shared::pool::testing::kill_pid;
    // fib(44) takes a second or more: long enough to be killed mid-task even on a busy machine.
    let run = Run::start(BIN, &["--n", "44", "--repeat", "2", "--workers", "2"], true);
    let _cleanup = KillOnDrop(run.worker_pids(2));
    let busy = run.wait_for_line(DEADLINE, |line| line.contains(" runs task 0: "));
    let busy = TraceLine::parse(&busy.expect("a worker takes task 0")).unwrap();
    kill_pid(busy.pid);
    let finished = run.finish(DEADLINE);
    assert_eq!(finished.code(), Some(1), "{finished:?}");
    let lines = finished.lines();
    assert_eq!(lines.len(), 1, "{finished:?}");
    assert!(lines[0].starts_with("Computed 1 of 2 in "), "{}", lines[0]);
    assert!(lines[0].ends_with(" seconds (1 failed)"), "{}", lines[0]);
    let failed: Vec<&str> =
        finished.stderr.lines().filter(|line| line.starts_with("Computation failed")).collect();
    assert_eq!(failed.len(), 1, "{}", finished.stderr);
    let died = format!("Computation failed: {} died while running fib(44) (", busy.worker);
    assert!(failed[0].starts_with(&died), "{}", failed[0]);
}

#[cfg(target_os = "linux")]
#[test]
fn when_every_worker_is_dead_the_rest_fails() {
    use shared::pool::testing::kill_pid;
    let run = Run::start(BIN, &["--n", "60", "--repeat", "3", "--workers", "1"], true);
    let _cleanup = KillOnDrop(run.worker_pids(1));
    let busy = run.wait_for_line(DEADLINE, |line| line.contains(" runs task 0: "));
    kill_pid(TraceLine::parse(&busy.expect("the worker takes task 0")).unwrap().pid);
    let finished = run.finish(DEADLINE);
    assert_eq!(finished.code(), Some(1), "{finished:?}");
    assert!(finished.stdout.starts_with("Computed 0 of 3 in "), "{}", finished.stdout);
    let failed: Vec<&str> =
        finished.stderr.lines().filter(|line| line.starts_with("Computation failed")).collect();
    assert_eq!(failed.len(), 3, "{}", finished.stderr);
    assert!(failed[0].contains("Process-1 died while running fib(60)"), "{}", failed[0]);
    assert!(failed[1].contains("no worker process was left to run fib(60)"), "{}", failed[1]);
}

#[cfg(target_os = "linux")]
#[test]
fn no_busy_worker_outlives_a_killed_parent() {
    use shared::pool::testing::wait_until_gone;
    // fib(60) would take hours: the workers are busy computing when the parent dies.
    let mut run = Run::start(BIN, &["--n", "60", "--repeat", "2", "--workers", "2"], true);
    let pids = run.worker_pids(2);
    let _cleanup = KillOnDrop(pids.clone());
    for _ in 0..2 {
        run.wait_for_line(DEADLINE, |line| line.contains(" runs ")).expect("both workers are busy");
    }
    run.kill();
    let left = wait_until_gone(&pids, Duration::from_secs(10));
    assert!(left.is_empty(), "workers {left:?} outlived their parent");
    run.finish(DEADLINE);
}
