//! Runs the real cpu_processes binary (checks in `testkit`), with the pool's trace on to
//! see what each worker did, and kills workers or the parent to see the pool's faults.
//! `--timeline` draws a lane per worker process, with a bar per call of fib that the worker timed
//! and whose hover text shows the value it sent back; a worker killed mid-call leaves a failed bar.

use std::collections::BTreeSet;
use std::time::Duration;

use shared::pool::TRACE_VAR;
use testkit::Finished;
use testkit::pool::{self, TraceLine, traced};
use testkit::timeline;

const CPU_PROCESSES: &str = env!("CARGO_BIN_EXE_cpu_processes");

/// Runs a small workload with the trace on, checks it like any CPU example's, and returns the
/// trace.
fn traced_trace(args: &[&str]) -> Vec<TraceLine> {
    let finished = testkit::check_computes(traced(CPU_PROCESSES).args(args));
    finished.stderr.lines().filter_map(TraceLine::parse).collect()
}

fn workers_that(trace: &[TraceLine], event: &str) -> BTreeSet<String> {
    trace.iter().filter(|line| line.event == event).map(|line| line.worker.clone()).collect()
}

#[test]
fn every_worker_computes_correct_results() {
    let trace = traced_trace(&["--n", "20", "--repeat", "9", "--workers", "3"]);
    let expected: BTreeSet<String> = (1..=3).map(|k| format!("Process-{k}")).collect();
    assert_eq!(workers_that(&trace, "ready"), expected);
    assert_eq!(workers_that(&trace, "runs"), expected);
    let done: Vec<&TraceLine> = trace.iter().filter(|line| line.event == "done").collect();
    assert_eq!(done.len(), 9, "{trace:#?}");
    let tasks: BTreeSet<usize> = done.iter().filter_map(|line| line.task()).collect();
    assert_eq!(tasks, (0..9).collect());
    for line in done {
        assert_eq!(line.value(), Some("ok 6765"), "fib(20) is 6765");
    }
}

#[test]
fn one_worker_per_cpu_by_default() {
    let trace = traced_trace(&["--n", "1", "--repeat", "1"]);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(workers_that(&trace, "ready").len(), cpus);
}

#[test]
fn start_up_can_be_measured_from_outside() {
    let startup = shared::pool::measure_startup(std::path::Path::new(CPU_PROCESSES), 2);
    assert!(startup.expect("two workers start") > Duration::ZERO);
}

#[test]
fn an_n_whose_fib_overflows_a_u64_exits_2_with_clap_s_message() {
    testkit::check_refuses_a_too_large_n(CPU_PROCESSES);
}

#[test]
fn zero_workers_is_refused() {
    testkit::check_refuses_zero_workers(CPU_PROCESSES);
}

#[test]
fn help_does_not_show_the_worker_mode() {
    pool::check_help_hides_the_worker_flag(CPU_PROCESSES);
}

/// Computes fib(`n`) `repeat` times on `workers` workers, kills the worker that runs the first
/// call, and checks that the run fails; returns the run and the killed worker's name.
#[cfg(target_os = "linux")]
fn kill_the_first_call(n: u32, repeat: usize, workers: usize) -> (Finished, String) {
    let (n, repeat, workers_option) = (n.to_string(), repeat.to_string(), workers.to_string());
    let args = ["--n", &n, "--repeat", &repeat, "--workers", &workers_option];
    let (finished, busy) =
        pool::kill_busy_worker(CPU_PROCESSES, &args, workers, |line| line.task() == Some(0));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    (finished, busy.worker)
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_worker_is_counted_as_failed() {
    // fib(44) takes a second or more: long enough to be killed mid-task even on a busy machine.
    let (finished, killed) = kill_the_first_call(44, 2, 2);
    let stdout = testkit::normalised(&finished.stdout, false);
    assert_eq!(stdout, "Computed 1 of 2 in X.XX seconds (1 failed)\n", "{finished:#?}");
    let failed = finished.stderr_lines("Computation failed");
    assert_eq!(failed.len(), 1, "{}", finished.stderr);
    let died = format!("Computation failed: {killed} died while running fib(44) (");
    assert!(failed[0].starts_with(&died), "{}", failed[0]);
}

#[cfg(target_os = "linux")]
#[test]
fn when_every_worker_is_dead_the_rest_fails() {
    let (finished, _) = kill_the_first_call(60, 3, 1);
    let stdout = testkit::normalised(&finished.stdout, false);
    assert_eq!(stdout, "Computed 0 of 3 in X.XX seconds (3 failed)\n", "{finished:#?}");
    let failed = finished.stderr_lines("Computation failed");
    assert_eq!(failed.len(), 3, "{}", finished.stderr);
    assert!(failed[0].contains("Process-1 died while running fib(60)"), "{}", failed[0]);
    assert!(failed[1].contains("no worker process was left to run fib(60)"), "{}", failed[1]);
}

#[cfg(target_os = "linux")]
#[test]
fn no_busy_worker_outlives_a_killed_parent() {
    // fib(60) would take hours: the workers are busy computing when the parent dies.
    let args = ["--n", "60", "--repeat", "2", "--workers", "2"];
    pool::check_no_worker_outlives_a_killed_parent(CPU_PROCESSES, &args, 2);
}

#[cfg(target_os = "linux")]
#[test]
fn a_worker_killed_by_sigpipe_is_only_a_dead_worker() {
    // SIGPIPE usually means "stdout closed"; sent to a worker, it must not end the pool.
    let args = ["--n", "44", "--repeat", "2", "--workers", "2"];
    let (finished, busy) =
        pool::signal_busy_worker(CPU_PROCESSES, &args, 2, "PIPE", |line| line.task() == Some(0));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    let stdout = testkit::normalised(&finished.stdout, false);
    assert_eq!(stdout, "Computed 1 of 2 in X.XX seconds (1 failed)\n", "{finished:#?}");
    let failed = finished.stderr_lines("Computation failed");
    assert_eq!(failed.len(), 1, "{}", finished.stderr);
    let died = format!("Computation failed: {} died while running fib(44) (", busy.worker);
    assert!(failed[0].starts_with(&died), "{}", failed[0]);
    assert!(failed[0].contains("SIGPIPE") || failed[0].contains("signal: 13"), "{}", failed[0]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_worker_killed_between_tasks_fails_one_task() {
    // fib(30) takes milliseconds: 500 of them keep the pool busy while the test acts.
    let args = ["--n", "30", "--repeat", "500", "--workers", "2"];
    let finished = pool::kill_idle_worker(CPU_PROCESSES, &args, 2);
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    let stdout = testkit::normalised(&finished.stdout, false);
    assert_eq!(stdout, "Computed 499 of 500 in X.XX seconds (1 failed)\n", "{finished:#?}");
    let failed = finished.stderr_lines("Computation failed");
    assert_eq!(failed.len(), 1, "{}", finished.stderr);
    let died = "Computation failed: Process-1 died while running fib(30) (";
    assert!(failed[0].starts_with(died), "{}", failed[0]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_or_stderr_ends_the_run_with_its_status() {
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let null = || std::process::Stdio::null();
    let args = ["--n", "20", "--repeat", "4", "--workers", "2"];
    let run = |stdout, stderr| {
        testkit::run_writing_to(testkit::command(CPU_PROCESSES).args(args), stdout, stderr)
    };
    // The summary cannot be printed, and the status says so.
    assert_eq!(run(full().into(), null()), Some(1), "stdout full");
    assert_eq!(run(full().into(), full().into()), Some(1), "stdout and stderr full");
    assert_eq!(run(null(), full().into()), Some(0), "stderr full");
}

#[test]
fn a_thread_that_cannot_start_is_named_and_exits_1() {
    let what = "cannot start the thread that reads Process-1's replies";
    testkit::check_threads_refused_are_named(CPU_PROCESSES, what);
}

#[test]
fn after_a_worker_fails_to_start_no_more_are_started() {
    // No thread can start, so every worker fails; of 200 asked for, only the first of each
    // starter thread (one a core) is tried, and each says so once.
    let mut command = testkit::command(CPU_PROCESSES);
    command.env("RUST_MIN_STACK", "1000000000000000").env("RUST_BACKTRACE", "0");
    let finished = testkit::run(command.args(["--n", "5", "--repeat", "4", "--workers", "200"]));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let tried = finished.stderr_lines("Process-").len();
    assert!((1..=cores).contains(&tried), "{tried} workers tried on {cores} cores: {finished:#?}");
}

#[test]
fn the_trace_stays_off_when_set_to_0() {
    let finished = testkit::run(
        testkit::command(CPU_PROCESSES).args(["--n", "1", "--repeat", "1"]).env(TRACE_VAR, "0"),
    );
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert!(!finished.stderr.contains("pool:"), "{finished:#?}");
}

#[test]
fn the_timeline_has_a_lane_per_process_and_a_bar_per_call() {
    let picture = timeline::fib(CPU_PROCESSES, &["--workers", "2"]);
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
        testkit::pool::kill_busy_worker(CPU_PROCESSES, &args, 2, |line| line.task() == Some(0));
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
    timeline::fib_values(CPU_PROCESSES, &["--workers", "2"]);
}
