//! What the examples' integration tests (`X/tests/*.rs`) share, so that no test file copies it: run
//! an example's real binary with a time limit (to its end, or watching its stderr as it runs), read
//! what it printed, and the checks that every I/O or CPU example must pass the same way (all pages
//! read, failures reported, proxies bypassed, `fib` right ([`timeline::fib_values`]), a bad command
//! line refused), comparing the whole output once [`normalised`]. Each example's own tests add what proves its approach, such as the server's
//! peak number of requests in flight. What only the process pool's tests need is in [`pool`].
//!
//! Everything here panics on a failed check, with the example's output in the message.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

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
    check_threads_refused_are_named, check_unwritable_timeline_fails_first,
    check_urls_are_printed_escaped,
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
/// server, and checks the run: exit status 0, nothing on stderr, and stdout exactly one `Read` line
/// per page with the page's size, in the order given if `at_once` is 1 (any order otherwise), then
/// the summary; and exactly `at_once` requests in flight together at the server's peak: the figure
/// that shows the approach. The server holds its responses until `at_once` requests arrive
/// ([`SitesServer::start_holding`]), so an example that runs that many at once reaches the figure
/// however slow the machine, and its own limit is what keeps it from going higher. Returns the run,
/// for the checks only it needs.
pub fn check_downloads(binary: &str, repeat: usize, args: &[&str], at_once: usize) -> Finished {
    let server = SitesServer::start_holding(Duration::from_millis(20), at_once)
        .expect("starting the look-alike server");
    let (jython, dice) = (server.url_for(SITES[0]), server.url_for(SITES[1]));
    let repeat_option = ["--repeat".to_string(), repeat.to_string()];
    let finished = run(command(binary).args(args).args(repeat_option).args([&jython, &dice]));
    let sites = 2 * repeat;
    let pages = [(JYTHON_BYTES, jython.as_str()), (DICE_BYTES, dice.as_str())];
    let reads: Vec<_> = pages.into_iter().cycle().take(sites).collect();
    let summary = format!("Downloaded {sites} sites in X.XX seconds");
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    check_stdout(&finished, binary, &reads, &summary, at_once > 1);
    assert_eq!(finished.stderr, "", "{finished:#?}");
    assert_eq!(server.served(), sites);
    assert_eq!(server.peak_in_flight(), at_once, "requests in flight together, {args:?}");
    finished
}

/// Runs `binary` (with `args`) on four sites that fail, a closed port, the 500 page, the page cut
/// short and the page that never answers (with `--timeout 1`), mixed with the two good pages.
/// Checks that each failure gets its stderr line naming the URL and the reason, that stdout is
/// exactly both good pages' `Read` lines (in any order) and the summary `Downloaded 2 of 6 sites in
/// X.XX seconds (4 failed)`, and that the exit status is 1. Returns the run.
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
    let reads = [(JYTHON_BYTES, jython.as_str()), (DICE_BYTES, dice.as_str())];
    let summary = "Downloaded 2 of 6 sites in X.XX seconds (4 failed)";
    check_stdout(&finished, binary, &reads, summary, true);
    for (url, reason) in &failing {
        let line = finished.failure(url);
        let line = line.unwrap_or_else(|| panic!("no failure reported for {url}: {finished:#?}"));
        assert!(line.to_lowercase().contains(reason), "expected {reason:?} in {line:?}");
    }
    assert_eq!(finished.stderr.matches("Failed to download").count(), failing.len());
    finished
}

/// Runs `binary --local` (with `args`) with every proxy variable pointing at a closed port, and
/// checks that it still downloads everything, stdout exactly the eight `Read` lines (in any order)
/// and the summary: a client aimed at the built-in server must not go through a proxy, which could
/// never reach this machine's 127.0.0.1.
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
    let pages = [
        (JYTHON_BYTES, "http://127.0.0.1:PORT/www.jython.org"),
        (DICE_BYTES, "http://127.0.0.1:PORT/olympus.realpython.org/dice"),
    ];
    let reads: Vec<_> = pages.into_iter().cycle().take(8).collect();
    check_stdout(&finished, binary, &reads, "Downloaded 8 sites in X.XX seconds", true);
}

/// Checks that `finished`'s whole stdout, [`normalised`], is a `Read` line for each of `reads`
/// (`(bytes, url)`, in that order unless `any_order`) and then `summary`.
pub(crate) fn check_stdout(
    finished: &Finished,
    binary: &str,
    reads: &[(usize, &str)],
    summary: &str,
    any_order: bool,
) {
    let prefix = read_prefix(binary);
    let lines = reads.iter().map(|(bytes, url)| format!("{prefix}Read {bytes} bytes from {url}"));
    let expected: String = lines.chain([summary.to_string()]).map(|line| line + "\n").collect();
    assert_eq!(
        normalised(&finished.stdout, any_order),
        normalised(&expected, any_order),
        "{finished:#?}"
    );
}

/// What `binary` prints before each `Read` line, normalised: io_processes the name of the worker
/// that read the page (`Process-2:`, as the tutorial's multiprocessing version does), the others
/// nothing.
fn read_prefix(binary: &str) -> &'static str {
    let name = Path::new(binary).file_stem().and_then(|stem| stem.to_str());
    if name == Some("io_processes") { "Process-K:" } else { "" }
}

/// `stdout` with what changes from run to run replaced, so that a test can compare it whole: the
/// seconds of the summary (`in 0.61 seconds`) by `X.XX`, a port of 127.0.0.1 by `PORT`, the
/// worker's number in `Process-2:` by `K`; and, if `sort_reads`, the lines before the summary
/// sorted, for an example whose order varies.
pub fn normalised(stdout: &str, sort_reads: bool) -> String {
    let mut lines: Vec<String> = stdout
        .lines()
        .map(|line| {
            let line = digits_replaced(line, "127.0.0.1:", "PORT");
            seconds_replaced(&digits_replaced(&line, "Process-", "K"))
        })
        .collect();
    if sort_reads {
        let reads = lines.len().saturating_sub(1);
        lines[..reads].sort();
    }
    lines.into_iter().map(|line| line + "\n").collect()
}

/// `text` with each run of digits right after `marker` replaced by `by`.
fn digits_replaced(text: &str, marker: &str, by: &str) -> String {
    let mut replaced = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (before, after) = rest.split_at(at + marker.len());
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        replaced.push_str(before);
        replaced.push_str(if digits > 0 { by } else { "" });
        rest = &after[digits..];
    }
    replaced + rest
}

/// `line` with the figure of ` in 1.23 seconds` (digits, a dot, two digits) replaced by `X.XX`.
fn seconds_replaced(line: &str) -> String {
    let figure = |text: &str| {
        text.split_once('.').is_some_and(|(whole, cents)| {
            let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
            !whole.is_empty() && digits(whole) && cents.len() == 2 && digits(cents)
        })
    };
    let Some(end) = line.find(" seconds") else { return line.to_string() };
    match line[..end].rsplit_once(" in ") {
        Some((before, seconds)) if figure(seconds) => {
            format!("{before} in X.XX{}", &line[end..])
        }
        _ => line.to_string(),
    }
}

/// clap's whole message for a bad value, as `--repeat x` prints it: `error: MESSAGE`, then a blank
/// line and the pointer to `--help`.
pub fn usage_error(message: &str) -> String {
    format!("error: {message}\n\nFor more information, try '--help'.\n")
}

/// Runs `binary` with `args`, a command line it must refuse, and checks that it is refused as clap
/// does it, before anything runs: exit status 2, nothing on stdout, and exactly `stderr` on stderr
/// (see [`usage_error`]). The option parser's own tests check each bad value; this proves that the
/// binary uses the parser.
pub fn check_refused(binary: &str, args: &[&str], stderr: &str) {
    let finished = run(command(binary).args(args).env_remove("CLICOLOR_FORCE"));
    assert_eq!(finished.code, Some(2), "{args:?}: {finished:#?}");
    assert_eq!(finished.stdout, "", "{args:?}: {finished:#?}");
    assert_eq!(finished.stderr, stderr, "{args:?}: {finished:#?}");
}

/// Checks that `binary` (an I/O example) refuses `--repeat x` as [`check_refused`] says, with
/// clap's `error: invalid value 'x' for '--repeat <N>': not a whole number: x`.
pub fn check_refuses_a_bad_repeat(binary: &str) {
    let message = "invalid value 'x' for '--repeat <N>': not a whole number: x";
    check_refused(binary, &["--repeat", "x"], &usage_error(message));
}

/// Checks that `binary` (a CPU example) refuses `--n 94`, whose fib does not fit in a u64, as
/// [`check_refused`] says, with clap's `error: invalid value '94' for '--n <N>': 94 is not in
/// 0..=93`.
pub fn check_refuses_a_too_large_n(binary: &str) {
    let message = "invalid value '94' for '--n <N>': 94 is not in 0..=93";
    check_refused(binary, &["--n", "94"], &usage_error(message));
}

/// Checks that `binary` (an example with a pool) refuses `--workers 0` as [`check_refused`] says,
/// with clap's `error: invalid value '0' for '--workers <N>': expected a whole number from 1 to
/// 1000`.
pub fn check_refuses_zero_workers(binary: &str) {
    let message = "invalid value '0' for '--workers <N>': expected a whole number from 1 to 1000";
    check_refused(binary, &["--workers", "0"], &usage_error(message));
}

/// Runs `command` (a CPU example with a small workload) and checks that it ends well: exit status
/// 0, and stdout exactly the summary, `Computed in X.XX seconds` (normalised). Returns the run.
pub fn check_computes(command: &mut Command) -> Finished {
    let finished = run(command);
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert_eq!(normalised(&finished.stdout, false), "Computed in X.XX seconds\n", "{finished:#?}");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_output_hides_seconds_ports_and_worker_numbers() {
        let stdout = "Process-12:Read 276 bytes from http://127.0.0.1:40123/dice\n\
                      Process-3:Read 10966 bytes from http://127.0.0.1:40123/www.jython.org\n\
                      Downloaded 2 sites in 10.05 seconds\n";
        let expected = "Process-K:Read 10966 bytes from http://127.0.0.1:PORT/www.jython.org\n\
                        Process-K:Read 276 bytes from http://127.0.0.1:PORT/dice\n\
                        Downloaded 2 sites in X.XX seconds\n";
        assert_eq!(normalised(stdout, true), expected);
        assert_eq!(
            normalised("Computed in 0.61 seconds (1 failed)\n", false),
            "Computed in X.XX seconds (1 failed)\n"
        );
        assert_eq!(
            normalised("Computed in 1 seconds\n", false),
            "Computed in 1 seconds\n",
            "two decimals"
        );
    }
}
