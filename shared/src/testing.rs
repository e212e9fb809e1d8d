//! What the examples' integration tests (`X/tests/*.rs`) share, so that no test file copies it: run
//! an example's real binary with a time limit, read what it printed, and the checks that every I/O
//! example must pass the same way (all pages read, failures reported, proxies bypassed, bad command
//! lines refused). Each example's own tests add what proves its approach, such as the server's peak
//! number of requests in flight.
//!
//! Everything here panics on a failed check, with the example's output in the message.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::server::{DICE_BYTES, Fault, JYTHON_BYTES, SitesServer};
use crate::tutorial::SITES;

/// The longest a test lets an example run before killing it: far beyond any honest run, so that a
/// hang fails the test instead of hanging CI.
pub const TIME_LIMIT: Duration = Duration::from_secs(60);

/// What a finished example printed, and how it exited.
#[derive(Debug)]
pub struct Finished {
    /// The exit code (`None` if a signal ended it).
    pub code: Option<i32>,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

impl Finished {
    /// The `Read {n} bytes from {url}` lines as `(n, url)`, in order. A prefix before `Read`, such
    /// as io_processes' `{name}:`, is skipped.
    pub fn reads(&self) -> Vec<(usize, &str)> {
        self.stdout.lines().filter_map(parse_read).collect()
    }

    /// The last line of stdout: the summary.
    pub fn summary(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }

    /// The stderr line that reports `url` as failed, if any.
    pub fn failure(&self, url: &str) -> Option<&str> {
        let prefix = format!("Failed to download {url}: ");
        self.stderr.lines().find(|line| line.starts_with(&prefix))
    }
}

fn parse_read(line: &str) -> Option<(usize, &str)> {
    let (_, rest) = line.split_once("Read ")?;
    let (bytes, url) = rest.split_once(" bytes from ")?;
    Some((bytes.parse().ok()?, url))
}

/// Runs `command` to its end with its output captured, and panics if it takes longer than
/// [`TIME_LIMIT`] (after killing it) or cannot start.
pub fn run(command: &mut Command) -> Finished {
    run_within(command, TIME_LIMIT)
}

fn run_within(command: &mut Command, time_limit: Duration) -> Finished {
    let description = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("could not start {description}: {error}"));
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let deadline = Instant::now() + time_limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the example") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    // Bounded too: a grandchild that kept the pipes open must not hang the test.
    let collect = |output: mpsc::Receiver<String>| {
        output.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| "<unreadable>".into())
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    let Some(status) = status else {
        panic!("{description} ran longer than {time_limit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}")
    };
    Finished { code: status.code(), stdout, stderr }
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        let _ = sender.send(text);
    });
    receiver
}

/// A URL on 127.0.0.1 where nothing listens: the port was free a moment ago (bound, noted,
/// released).
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let port = listener.local_addr().expect("a bound listener has an address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/closed")
}

/// Runs `binary` (with `args`) on the tutorial's two pages `repeat` times from a fresh look-alike
/// server answering after `latency`, and checks the run: exit status 0, one `Read` line per page
/// with the page's exact size (`repeat` of each), the summary, no failure. Returns the server's
/// peak number of requests in flight, the figure that shows the example's approach.
pub fn check_downloads(binary: &str, latency: Duration, repeat: usize, args: &[&str]) -> usize {
    let server = SitesServer::start(latency).expect("starting the look-alike server");
    let (jython, dice) = (server.url_for(SITES[0]), server.url_for(SITES[1]));
    let repeat_option = ["--repeat".to_string(), repeat.to_string()];
    let finished = run(Command::new(binary).args(args).args(repeat_option).args([&jython, &dice]));
    let reads = finished.reads();
    let count =
        |url: &str, bytes: usize| reads.iter().filter(|&&read| read == (bytes, url)).count();
    let sites = 2 * repeat;
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert_eq!(reads.len(), sites, "{finished:#?}");
    assert_eq!(count(&jython, JYTHON_BYTES), repeat, "{finished:#?}");
    assert_eq!(count(&dice, DICE_BYTES), repeat, "{finished:#?}");
    let summary = finished.summary();
    assert!(summary.starts_with(&format!("Downloaded {sites} sites in ")), "{finished:#?}");
    assert!(summary.ends_with(" seconds"), "{finished:#?}");
    assert!(!finished.stderr.contains("Failed"), "{finished:#?}");
    assert_eq!(server.served(), sites);
    server.peak_in_flight()
}

/// Runs `binary` (with `args`) on four sites that fail, a closed port, the 500 page, the page cut
/// short and the page that never answers (with `--timeout 1`), mixed with the two good pages.
/// Checks that each failure gets its stderr line naming the URL and the reason, that both good
/// pages are still read, that the summary counts `2 of 6 ... (4 failed)`, and that the exit status
/// is 1.
pub fn check_failures(binary: &str, args: &[&str]) {
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
        run(Command::new(binary).args(args).args(["--repeat", "1", "--timeout", "1"]).args(sites));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    for (url, reason) in &failing {
        let line = finished.failure(url);
        let line = line.unwrap_or_else(|| panic!("no failure reported for {url}: {finished:#?}"));
        assert!(line.to_lowercase().contains(reason), "expected {reason:?} in {line:?}");
    }
    assert_eq!(finished.stderr.matches("Failed to download").count(), failing.len());
    let mut reads = finished.reads();
    reads.sort(); // a concurrent example may read them in either order
    assert_eq!(reads, [(DICE_BYTES, dice.as_str()), (JYTHON_BYTES, jython.as_str())]);
    assert!(finished.summary().starts_with("Downloaded 2 of 6 sites in "), "{finished:#?}");
    assert!(finished.summary().ends_with(" seconds (4 failed)"), "{finished:#?}");
}

/// Runs `binary --local` with every proxy variable pointing at a closed port, and checks that it
/// still downloads everything: a client aimed at the built-in server must not go through a proxy,
/// which could never reach this machine's 127.0.0.1.
pub fn check_local_bypasses_proxy(binary: &str) {
    let proxy = closed_port_url();
    let mut command = Command::new(binary);
    command.args(["--local", "--latency", "1", "--repeat", "2"]);
    for variable in
        ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    {
        command.env(variable, &proxy);
    }
    let finished = run(command.env_remove("NO_PROXY").env_remove("no_proxy"));
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert_eq!(finished.reads().len(), 4, "{finished:#?}");
    assert!(finished.summary().starts_with("Downloaded 4 sites in "), "{finished:#?}");
}

/// Runs `binary` with command lines that are wrong for every I/O example (a repeat count that is
/// not a number, a malformed URL, a negative timeout) and with `extra` ones, and checks that each
/// is refused with exit status 2, clap's usage error, before anything is downloaded.
pub fn check_bad_command_lines(binary: &str, extra: &[&[&str]]) {
    let common: [&[&str]; 4] =
        [&["--repeat", "x"], &["--repeat", "0"], &["not a url"], &["--timeout", "-1"]];
    for args in common.iter().chain(extra) {
        let finished = run(Command::new(binary).args(*args));
        assert_eq!(finished.code, Some(2), "{args:?}: {finished:#?}");
        assert!(finished.stdout.is_empty(), "{args:?}: {finished:#?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_lines_are_parsed_with_or_without_a_prefix() {
        let finished = Finished {
            code: Some(0),
            stdout: "Read 276 bytes from http://a/dice\nProcess-1:Read 10966 bytes from http://b\n\
                     Downloaded 2 sites in 0.10 seconds\n"
                .into(),
            stderr: "Failed to download http://c: boom\n".into(),
        };
        assert_eq!(finished.reads(), [(276, "http://a/dice"), (10966, "http://b")]);
        assert_eq!(finished.summary(), "Downloaded 2 sites in 0.10 seconds");
        assert_eq!(finished.failure("http://c"), Some("Failed to download http://c: boom"));
        assert_eq!(finished.failure("http://a/dice"), None);
    }

    #[cfg(unix)]
    #[test]
    #[should_panic(expected = "ran longer than")]
    fn a_hanging_example_is_killed_and_fails_the_test() {
        run_within(Command::new("sleep").arg("30"), Duration::from_millis(200));
    }
}
