//! Runs the real io_processes binary against the look-alike server on 127.0.0.1.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::time::Duration;

use shared::pool::WORKER_FLAG;
use shared::pool::testing::{Finished, KillOnDrop, Run, TraceLine, run};
use shared::server::{DICE_BYTES, JYTHON_BYTES};
use shared::{Fault, SitesServer};

const BIN: &str = env!("CARGO_BIN_EXE_io_processes");
const DEADLINE: Duration = Duration::from_secs(60);
const LATENCY: Duration = Duration::from_millis(20);

fn server() -> SitesServer {
    SitesServer::start(LATENCY).expect("the look-alike server starts")
}

/// Downloads each of `urls` once.
fn download(urls: &[&str], options: &[&str]) -> Finished {
    let args: Vec<&str> = urls.iter().chain(&["--repeat", "1"]).chain(options).copied().collect();
    run(BIN, &args, DEADLINE)
}

#[test]
fn every_worker_reads_the_right_sizes() {
    let server = server();
    let jython = server.url_for("https://www.jython.org");
    let dice = server.url_for("http://olympus.realpython.org/dice");
    let finished = run(BIN, &[&jython, &dice, "--repeat", "80", "--workers", "4"], DEADLINE);
    assert_eq!(finished.code(), Some(0), "{finished:?}");
    let lines = finished.lines();
    assert_eq!(lines.len(), 161, "{finished:?}");
    let mut names = BTreeSet::new();
    for line in &lines[..160] {
        let (name, read) = line.split_once(':').expect("a Process-k: prefix");
        let expected = if read.ends_with(&jython) {
            format!("Read {JYTHON_BYTES} bytes from {jython}")
        } else {
            format!("Read {DICE_BYTES} bytes from {dice}")
        };
        assert_eq!(read, expected);
        names.insert(name.to_string());
    }
    let expected: BTreeSet<String> = (1..=4).map(|k| format!("Process-{k}")).collect();
    assert_eq!(names, expected);
    assert!(lines[160].starts_with("Downloaded 160 sites in "), "{}", lines[160]);
    assert_eq!(server.served(), 160);
}

#[test]
fn as_many_downloads_in_flight_as_workers() {
    for workers in [2, 4] {
        let server = server();
        let jython = server.url_for("https://www.jython.org");
        let workers_option = workers.to_string();
        let finished =
            run(BIN, &[&jython, "--repeat", "40", "--workers", &workers_option], DEADLINE);
        assert_eq!(finished.code(), Some(0), "{finished:?}");
        assert_eq!(server.peak_in_flight(), workers, "with --workers {workers}");
    }
}

#[test]
fn help_does_not_show_the_worker_mode() {
    let finished = run(BIN, &["--help"], DEADLINE);
    assert_eq!(finished.code(), Some(0));
    assert!(finished.stdout.contains("--workers"));
    assert!(!finished.stdout.contains(WORKER_FLAG));
}

#[test]
fn local_sites_bypass_the_proxy_in_every_worker() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let proxy = format!("http://{}", listener.local_addr().expect("an address"));
    drop(listener);
    let mut command = std::process::Command::new(BIN);
    command.args(["--local", "--latency", "1", "--repeat", "4", "--workers", "2"]);
    for variable in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        command.env(variable, &proxy);
    }
    let finished =
        Run::spawn(command.env_remove("NO_PROXY").env_remove("no_proxy")).finish(DEADLINE);
    assert_eq!(finished.code(), Some(0), "{finished:?}");
    assert!(finished.lines()[8].starts_with("Downloaded 8 sites in "), "{finished:?}");
}

/// Downloads the jython page and `failing`: one success, one failure reported on stderr, exit 1.
fn assert_fails_alone(failing: &str, options: &[&str]) {
    let server = server();
    let jython = server.url_for("https://www.jython.org");
    let finished = download(&[&jython, failing], options);
    assert_eq!(finished.code(), Some(1), "{finished:?}");
    let lines = finished.lines();
    assert_eq!(lines.len(), 2, "{finished:?}");
    assert!(lines[0].ends_with(&format!(":Read {JYTHON_BYTES} bytes from {jython}")));
    assert!(lines[1].starts_with("Downloaded 1 of 2 sites in "), "{}", lines[1]);
    let prefix = format!("Failed to download {failing}: ");
    let reports: Vec<&str> = finished.stderr.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert_eq!(reports.len(), 1, "{}", finished.stderr);
}

#[test]
fn a_server_error_fails_its_site() {
    assert_fails_alone(&server().fault_url(Fault::ServerError), &[]);
}

#[test]
fn a_truncated_page_fails_its_site() {
    assert_fails_alone(&server().fault_url(Fault::Truncated), &[]);
}

#[test]
fn a_stalled_page_times_out() {
    let server = server();
    assert_fails_alone(&server.fault_url(Fault::Stall), &["--timeout", "1"]);
}

#[test]
fn a_closed_port_fails_its_site() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}/", listener.local_addr().expect("an address"));
    drop(listener);
    assert_fails_alone(&url, &[]);
}

#[test]
fn a_redirect_is_followed() {
    let server = server();
    let finished = download(&[&server.fault_url(Fault::Redirect)], &[]);
    assert_eq!(finished.code(), Some(0), "{finished:?}");
    assert!(finished.lines()[0].contains(&format!(":Read {JYTHON_BYTES} bytes from ")));
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_worker_fails_only_its_site() {
    use shared::pool::testing::kill_pid;
    let server = server();
    let jython = server.url_for("https://www.jython.org");
    let stall = server.fault_url(Fault::Stall);
    // Without the kill the stalled download would outlast the test's deadline.
    let args = [&jython, &jython, &stall, &jython, &jython, "--repeat", "1", "--workers", "2"];
    let args: Vec<&str> = args.into_iter().chain(["--timeout", "600"]).collect();
    let run = Run::start(BIN, &args, true);
    let _cleanup = KillOnDrop(run.worker_pids(2));
    let busy =
        run.wait_for_line(DEADLINE, |line| line.contains(" runs ") && line.ends_with(&stall));
    let busy = TraceLine::parse(&busy.expect("a worker takes the stalled page")).unwrap();
    kill_pid(busy.pid);
    let finished = run.finish(DEADLINE);
    assert_eq!(finished.code(), Some(1), "{finished:?}");
    let lines = finished.lines();
    assert_eq!(lines.len(), 5, "{finished:?}");
    assert!(lines[4].starts_with("Downloaded 4 of 5 sites in "), "{}", lines[4]);
    let report: Vec<&str> =
        finished.stderr.lines().filter(|line| line.starts_with("Failed to download")).collect();
    assert_eq!(report.len(), 1, "{}", finished.stderr);
    let died =
        format!("Failed to download {stall}: {} died while running download_site(", busy.worker);
    assert!(report[0].starts_with(&died), "{}", report[0]);
    assert!(report[0].contains("SIGKILL") || report[0].contains("signal: 9"), "{}", report[0]);
}

#[cfg(target_os = "linux")]
#[test]
fn no_worker_outlives_a_killed_parent() {
    use shared::pool::testing::wait_until_gone;
    let server = server();
    let stall = server.fault_url(Fault::Stall);
    let args = [&stall, "--repeat", "4", "--workers", "2", "--timeout", "600"];
    let mut run = Run::start(BIN, &args, true);
    let pids = run.worker_pids(2);
    let _cleanup = KillOnDrop(pids.clone());
    for _ in 0..2 {
        let busy = run.wait_for_line(DEADLINE, |line| line.contains(" runs "));
        busy.expect("both workers are busy");
    }
    run.kill();
    let left = wait_until_gone(&pids, Duration::from_secs(10));
    assert!(left.is_empty(), "workers {left:?} outlived their parent");
    run.finish(DEADLINE);
}
