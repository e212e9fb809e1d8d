//! What the examples' integration tests (`X/tests/*.rs`) share, so that no test file copies it: run
//! an example's real binary with a time limit (to its end, or watching its stderr as it runs), read
//! what it printed, and the checks that every I/O or CPU example must pass the same way (all pages
//! read, failures reported, proxies bypassed, `fib` right ([`timeline::fib_values`]), bad command
//! lines refused). Each example's own tests add what proves its approach, such as the server's
//! peak number of requests in flight. What only the process pool's tests need is in [`pool`].
//!
//! Everything here panics on a failed check, with the example's output in the message.

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use shared::report::parse_computed;
use shared::server::{DICE_BYTES, Fault, JYTHON_BYTES, SitesServer};
use shared::tutorial::SITES;

mod faults;
pub mod pool;
mod process;
pub mod timeline;

pub use faults::{
    check_a_dripping_page_is_bounded_by_timeout, check_huge_pages_fail_within_bounded_memory,
    check_local_needs_no_ca_store, check_missing_ca_store_is_explained, check_no_thread_can_start,
    check_odd_statuses_fail, check_retry_when_the_server_closes_silently,
    check_unwritable_timeline_fails_first, check_urls_are_printed_escaped,
};
#[cfg(target_os = "linux")]
pub use faults::{
    check_full_stdout, check_full_stdout_and_stderr, check_no_process_can_start,
    check_open_files_note_names_only_its_option,
};
pub use process::{Finished, Running, TIME_LIMIT, command, run, run_writing_to};

/// A URL on 127.0.0.1 where nothing listens: the port was free a moment ago (bound, noted,
/// released).
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let port = listener.local_addr().expect("a bound listener has an address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/closed")
}

/// Runs `binary` (with `args`) on the tutorial's two pages `repeat` times from a fresh look-alike
/// server, and checks the run: exit status 0, nothing on stdout but one `Read` line per page with
/// the page's exact size (`repeat` of each) and the summary, no failure, and exactly `at_once`
/// requests in flight together at the server's peak: the figure that shows the approach. The
/// server holds its responses until `at_once` requests arrive ([`SitesServer::start_holding`]), so
/// an example that runs that many at once reaches the figure however slow the machine, and its own
/// limit is what keeps it from going higher. Returns the run, for the checks only it needs.
pub fn check_downloads(binary: &str, repeat: usize, args: &[&str], at_once: usize) -> Finished {
    let server = SitesServer::start_holding(Duration::from_millis(20), at_once)
        .expect("starting the look-alike server");
    let (jython, dice) = (server.url_for(SITES[0]), server.url_for(SITES[1]));
    let repeat_option = ["--repeat".to_string(), repeat.to_string()];
    let finished = run(command(binary).args(args).args(repeat_option).args([&jython, &dice]));
    let reads = finished.reads();
    let count =
        |url: &str, bytes: usize| reads.iter().filter(|&&read| read == (bytes, url)).count();
    let sites = 2 * repeat;
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert_eq!(finished.stdout.lines().count(), sites + 1, "{finished:#?}");
    assert_eq!(reads.len(), sites, "{finished:#?}");
    assert_eq!(count(&jython, JYTHON_BYTES), repeat, "{finished:#?}");
    assert_eq!(count(&dice, DICE_BYTES), repeat, "{finished:#?}");
    let summary = finished.summary();
    assert!(summary.starts_with(&format!("Downloaded {sites} sites in ")), "{finished:#?}");
    assert!(summary.ends_with(" seconds"), "{finished:#?}");
    assert!(!finished.stderr.contains("Failed"), "{finished:#?}");
    assert_eq!(server.served(), sites);
    assert_eq!(server.peak_in_flight(), at_once, "requests in flight together, {args:?}");
    finished
}

/// The checks that every I/O example passes the same way, whatever its approach:
/// [`check_failures`] and [`check_local_bypasses_proxy`] (both with `args`), and
/// [`check_bad_command_lines`] with `bad`, the wrong uses of the example's own options. Returns
/// the run of `check_failures`.
pub fn check_errors(binary: &str, args: &[&str], bad: &[&[&str]]) -> Finished {
    check_bad_command_lines(binary, bad);
    check_local_bypasses_proxy(binary, args);
    check_failures(binary, args)
}

/// Runs `binary` (with `args`) on four sites that fail, a closed port, the 500 page, the page cut
/// short and the page that never answers (with `--timeout 1`), mixed with the two good pages.
/// Checks that each failure gets its stderr line naming the URL and the reason, that both good
/// pages are still read, that the summary counts `2 of 6 ... (4 failed)`, and that the exit status
/// is 1. Returns the run.
pub fn check_failures(binary: &str, args: &[&str]) -> Finished {
    let server = SitesServer::start(Duration::from_millis(20)).expect("starting the server");
    let (jython, dice) = (server.url_for(SITES[0]), server.url_for(SITES[1]));
    let failing = [
        (closed_port_url(), "connect"),
        (server.fault_url(Fault::ServerError), "500"),
        (server.fault_url(Fault::Truncated), "body"),
        (server.fault_url(Fault::Stall), "timed out"),
    ];
    let sites = [&jython, &failing[0].0, &failing[1].0, &failing[2].0, &failing[3].0, &dice];
    let finished =
        run(command(binary).args(args).args(["--repeat", "1", "--timeout", "1"]).args(sites));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    for (url, reason) in &failing {
        let line = finished.failure(url);
        let line = line.unwrap_or_else(|| panic!("no failure reported for {url}: {finished:#?}"));
        assert!(line.to_lowercase().contains(reason), "expected {reason:?} in {line:?}");
    }
    assert_eq!(finished.stderr.matches("Failed to download").count(), failing.len());
    assert_eq!(finished.stdout.lines().count(), 3, "{finished:#?}");
    let mut reads = finished.reads();
    reads.sort(); // a concurrent example may read them in either order
    assert_eq!(reads, [(DICE_BYTES, dice.as_str()), (JYTHON_BYTES, jython.as_str())]);
    assert!(finished.summary().starts_with("Downloaded 2 of 6 sites in "), "{finished:#?}");
    assert!(finished.summary().ends_with(" seconds (4 failed)"), "{finished:#?}");
    finished
}

/// Runs `binary --local` (with `args`) with every proxy variable pointing at a closed port, and
/// checks that it still downloads everything: a client aimed at the built-in server must not go
/// through a proxy, which could never reach this machine's 127.0.0.1.
pub fn check_local_bypasses_proxy(binary: &str, args: &[&str]) {
    let proxy = closed_port_url();
    let mut command = command(binary);
    command.args(["--local", "--latency", "1", "--repeat", "4"]).args(args);
    for variable in
        ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    {
        command.env(variable, &proxy);
    }
    let finished = run(command.env_remove("NO_PROXY").env_remove("no_proxy"));
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert_eq!(finished.stdout.lines().count(), 9, "{finished:#?}");
    assert_eq!(finished.reads().len(), 8, "{finished:#?}");
    assert!(finished.summary().starts_with("Downloaded 8 sites in "), "{finished:#?}");
}

/// Runs `binary` with command lines that are wrong for every I/O example (a repeat count that is
/// not a number, a malformed URL, a negative timeout) and with `extra` ones, and checks that each
/// is refused with exit status 2, clap's usage error, before anything is printed on stdout.
pub fn check_bad_command_lines(binary: &str, extra: &[&[&str]]) {
    let common: [&[&str]; 4] =
        [&["--repeat", "x"], &["--repeat", "0"], &["not a url"], &["--timeout", "-1"]];
    check_refused(binary, &common, extra);
}

/// Runs `binary` with command lines that are wrong for every CPU example (an `n` whose fib does not
/// fit in a u64, an `n` that is not a number, no repeats) and with `extra` ones, and checks that
/// each is refused as [`check_bad_command_lines`] says.
pub fn check_bad_cpu_command_lines(binary: &str, extra: &[&[&str]]) {
    let common: [&[&str]; 3] = [&["--n", "94"], &["--n", "x"], &["--repeat", "0"]];
    check_refused(binary, &common, extra);
}

/// Checks that `binary` refuses each of the `common` and `extra` command lines: exit status 2 and
/// nothing on stdout.
fn check_refused(binary: &str, common: &[&[&str]], extra: &[&[&str]]) {
    for args in common.iter().chain(extra) {
        let finished = run(command(binary).args(*args));
        assert_eq!(finished.code, Some(2), "{args:?}: {finished:#?}");
        assert!(finished.stdout.is_empty(), "{args:?}: {finished:#?}");
    }
}

/// Runs `command` (a CPU example with a small workload) and checks that it ends well: exit status
/// 0, and nothing on stdout but the summary, `Computed in 0.61 seconds`. Returns the run.
pub fn check_computes(command: &mut Command) -> Finished {
    let finished = run(command);
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert_eq!(finished.stdout.lines().count(), 1, "{finished:#?}");
    assert!(parse_computed(finished.summary()).is_some(), "{finished:#?}");
    finished
}

/// Runs `binary` (with `args`) and closes its stdout after the first line, as `| head -1` does,
/// and checks that it ends promptly and quietly: no panic, no "Broken pipe" message.
pub fn check_quiet_when_stdout_closes(binary: &str, args: &[&str]) {
    let finished = Running::start_closing_stdout_after(command(binary).args(args), 1).finish();
    let first_line = finished.stdout.lines().next().unwrap_or_default();
    assert!(first_line.contains("Read") || first_line.contains("Computed"), "{finished:#?}");
    assert_ne!(finished.code, Some(0), "{finished:#?}");
    assert_ne!(finished.code, Some(101), "a panic: {finished:#?}");
    let stderr = &finished.stderr;
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{finished:#?}");
}
