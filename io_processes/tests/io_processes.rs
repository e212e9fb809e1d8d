//! Runs the io_processes binary against the look-alike server on 127.0.0.1 (checks in
//! `testkit`), with what only a pool of processes shows: the workers' names, as many
//! downloads in flight as workers, a killed worker failing only its site, and no orphans; then its
//! command line, its `--timeline` picture, and the faults of issue 11 (hostile pages, a broken
//! environment, an exhausted machine).

use std::collections::BTreeSet;
use std::time::Duration;

use shared::server::JYTHON_BYTES;
use shared::{Fault, SitesServer};
use testkit::Finished;
use testkit::{pool, timeline};

const IO_PROCESSES: &str = env!("CARGO_BIN_EXE_io_processes");

/// The worker names in front of the `Read` lines (`Process-2:Read ...`), all stdout lines but the
/// summary; panics on a line without one.
fn worker_names(finished: &Finished) -> BTreeSet<String> {
    let lines: Vec<&str> = finished.stdout.lines().collect();
    let (_summary, reads) = lines.split_last().expect("a summary line");
    let name = |line: &&str| line.split_once(":Read ").expect("a Process-k: prefix").0.to_string();
    reads.iter().map(name).collect()
}

/// Checks a run of the 160 pages on `workers` workers: as many downloads in flight as workers, and
/// every worker's name in front of some `Read` line.
fn check_downloads_on(workers: usize) {
    let args = ["--workers", &workers.to_string()];
    let finished = testkit::check_downloads(IO_PROCESSES, 80, &args, workers);
    let every_worker = (1..=workers).map(|k| format!("Process-{k}")).collect();
    assert_eq!(worker_names(&finished), every_worker);
}

// Downloads and failures.

#[test]
fn two_workers_read_the_160_pages_two_at_a_time() {
    check_downloads_on(2);
}

#[test]
fn four_workers_read_the_160_pages_four_at_a_time() {
    check_downloads_on(4);
}

#[test]
fn reports_each_failure_and_reads_the_other_pages() {
    let finished = testkit::check_failures(IO_PROCESSES, &["--workers", "2"]);
    let names = worker_names(&finished);
    assert!(names.iter().all(|name| name.starts_with("Process-")), "{names:?}");
}

#[test]
fn the_look_alike_sites_bypass_any_proxy_in_every_worker() {
    // Two workers, so that every worker, not only the first, must bypass the proxy.
    testkit::check_local_bypasses_proxy(IO_PROCESSES, &["--workers", "2"]);
}

#[test]
fn a_redirect_is_followed() {
    let server = SitesServer::start(Duration::from_millis(20)).expect("starting the server");
    let redirect = server.fault_url(Fault::Redirect);
    let finished = testkit::run(testkit::command(IO_PROCESSES).args([&redirect, "--repeat", "1"]));
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert_eq!(finished.reads(), [(JYTHON_BYTES, redirect.as_str())]);
    assert_eq!(worker_names(&finished).len(), 1, "{finished:#?}");
}

#[test]
fn help_does_not_show_the_worker_mode() {
    pool::check_help_hides_the_worker_flag(IO_PROCESSES);
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_worker_fails_only_its_site() {
    let server = SitesServer::start(Duration::from_millis(20)).expect("starting the server");
    let jython = server.url_for("https://www.jython.org");
    let stall = server.fault_url(Fault::Stall);
    // Without the kill the stalled download would outlast the test's time limit.
    let args = [&jython, &jython, &stall, &jython, &jython, "--repeat", "1", "--workers", "2"];
    let args: Vec<&str> = args.into_iter().chain(["--timeout", "600"]).collect();
    let input = format!("{stall:?}"); // The trace shows inputs in JSON.
    let (finished, busy) =
        pool::kill_busy_worker(IO_PROCESSES, &args, 2, |line| line.value() == Some(&input));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    let stdout = testkit::normalised(&finished.stdout, true);
    let read = format!("Process-K:Read {JYTHON_BYTES} bytes from {jython}\n");
    let summary = "Downloaded 4 of 5 sites in X.XX seconds (1 failed)\n";
    assert_eq!(stdout, testkit::normalised(&(read.repeat(4) + summary), true), "{finished:#?}");
    let report = finished.stderr_lines("Failed to download");
    assert_eq!(report.len(), 1, "{}", finished.stderr);
    let died =
        format!("Failed to download {stall}: {} died while running download_site(", busy.worker);
    assert!(report[0].starts_with(&died), "{}", report[0]);
    assert!(report[0].contains("SIGKILL") || report[0].contains("signal: 9"), "{}", report[0]);
}

#[cfg(target_os = "linux")]
#[test]
fn no_worker_outlives_a_killed_parent() {
    let server = SitesServer::start(Duration::from_millis(20)).expect("starting the server");
    let stall = server.fault_url(Fault::Stall);
    let args = [&stall, "--repeat", "4", "--workers", "2", "--timeout", "600"];
    pool::check_no_worker_outlives_a_killed_parent(IO_PROCESSES, &args, 2);
}

#[test]
fn ends_quietly_when_its_output_is_cut_short() {
    let args = ["--local", "--latency", "1", "--repeat", "20", "--workers", "2"];
    testkit::check_quiet_when_stdout_closes(IO_PROCESSES, &args);
}

#[cfg(target_os = "linux")]
#[test]
fn a_worker_killed_by_sigpipe_fails_only_its_site() {
    // SIGPIPE usually means "stdout closed"; sent to a worker, it means only a dead worker.
    let server = SitesServer::start(Duration::from_millis(20)).expect("starting the server");
    let jython = server.url_for("https://www.jython.org");
    let stall = server.fault_url(Fault::Stall);
    let args = [&jython, &stall, &jython, "--repeat", "1", "--workers", "2", "--timeout", "600"];
    let input = format!("{stall:?}");
    let (finished, busy) = pool::signal_busy_worker(IO_PROCESSES, &args, 2, "PIPE", |line| {
        line.value() == Some(&input)
    });
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    let stdout = testkit::normalised(&finished.stdout, true);
    let read = format!("Process-K:Read {JYTHON_BYTES} bytes from {jython}\n");
    let summary = "Downloaded 2 of 3 sites in X.XX seconds (1 failed)\n";
    assert_eq!(stdout, testkit::normalised(&(read.repeat(2) + summary), true), "{finished:#?}");
    let report = finished.stderr_lines("Failed to download");
    assert_eq!(report.len(), 1, "{}", finished.stderr);
    let died =
        format!("Failed to download {stall}: {} died while running download_site(", busy.worker);
    assert!(report[0].starts_with(&died), "{}", report[0]);
    assert!(report[0].contains("SIGPIPE") || report[0].contains("signal: 13"), "{}", report[0]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_or_stderr_ends_the_run_with_its_status() {
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let null = || std::process::Stdio::null();
    let args = ["--local", "--latency", "1", "--repeat", "1", "--workers", "2"];
    let run = |stdout, stderr| {
        testkit::run_writing_to(testkit::command(IO_PROCESSES).args(args), stdout, stderr)
    };
    // No line can be printed, so no download counts; the status says so.
    assert_eq!(run(full().into(), null()), Some(1), "stdout full");
    assert_eq!(run(full().into(), full().into()), Some(1), "stdout and stderr full");
    // Nothing needs stderr when every download works.
    assert_eq!(run(null(), full().into()), Some(0), "stderr full");
}

#[cfg(target_os = "linux")]
#[test]
fn a_worker_killed_between_downloads_fails_one_site() {
    // The server runs in this test, so that it answers while the example is stopped.
    let server = SitesServer::start(Duration::from_millis(1)).expect("starting the server");
    let jython = server.url_for("https://www.jython.org");
    let mut args = vec![jython.as_str(); 100];
    args.extend(["--repeat", "1", "--workers", "2"]);
    let finished = pool::kill_idle_worker(IO_PROCESSES, &args, 2);
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    let summary = testkit::normalised(finished.summary(), false);
    assert_eq!(summary, "Downloaded 99 of 100 sites in X.XX seconds (1 failed)\n", "{finished:#?}");
    let report = finished.stderr_lines("Failed to download");
    assert_eq!(report.len(), 1, "{}", finished.stderr);
    let died = format!("Failed to download {jython}: Process-1 died while running download_site(");
    assert!(report[0].starts_with(&died), "{}", report[0]);
}

// The command line (each bad value is checked in shared's args tests; these prove the wiring).

#[test]
fn a_repeat_that_is_not_a_number_exits_2_with_clap_s_message() {
    testkit::check_refuses_a_bad_repeat(IO_PROCESSES);
}

#[test]
fn zero_workers_is_refused() {
    testkit::check_refuses_zero_workers(IO_PROCESSES);
}

// `--timeline`: a lane per worker process, with a bar per download that the worker timed, the
// failed one marked (checks in `testkit::timeline`).

#[test]
fn the_timeline_has_a_lane_per_process_and_a_bar_per_download() {
    let picture = timeline::downloads(IO_PROCESSES, &["--workers", "2"], 2);
    assert_eq!(picture.lanes, timeline::numbered("Process-", 2));
    assert_eq!(picture.rows, [1, 1], "one download at a time in each process");
}

// The faults of issue 11 (hostile pages, a broken environment, an exhausted machine): the tests
// that every I/O example passes the same way, in `faults`.

testkit::io_fault_tests!(IO_PROCESSES, Some("workers"));
