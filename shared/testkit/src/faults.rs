//! The checks of issue 11, the same for every I/O example: what a hostile server, a broken
//! environment or an exhausted machine does to a run. Each one runs the example's real binary and
//! checks the promise: a failed site is named on stderr with its reason, the exit status is 1, and
//! nothing hangs, panics or holds memory without bound. Re-exported by the crate root; the macro
//! [`io_fault_tests!`](crate::io_fault_tests) turns them into an example's tests.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use shared::server::{DICE_BYTES, Fault, JYTHON_BYTES, SitesServer};
use shared::tutorial::SITES;

use crate::process::{Finished, command, run};

/// Runs `binary` (with `args`) on every odd-status fault page ([`Fault::odd_statuses`]: 302
/// without `Location` or to `file:`, 300, 304, 101, 600, 999) and the dice page, and checks that
/// each fault page fails with its status in the message, the dice page is read, and the exit
/// status is 1.
pub fn check_odd_statuses_fail(binary: &str, args: &[&str]) -> Finished {
    let server = SitesServer::start(Duration::ZERO).expect("starting the server");
    let dice = server.url_for(SITES[1]);
    let faults: Vec<_> = Fault::odd_statuses().map(|fault| server.fault_url(fault)).collect();
    let finished = run(command(binary)
        .args(args)
        .args(["--repeat", "1", "--timeout", "10"])
        .args(&faults)
        .arg(&dice));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    for (fault, url) in Fault::odd_statuses().zip(&faults) {
        let status = fault.status().expect("an odd fault page has a status").to_string();
        let line = finished.failure(url);
        let line = line.unwrap_or_else(|| panic!("no failure reported for {url}: {finished:#?}"));
        assert!(line.contains(&format!("status {status}")), "expected {status} in {line:?}");
    }
    let (failed, sites) = (faults.len(), faults.len() + 1);
    let summary = format!("Downloaded 1 of {sites} sites in X.XX seconds ({failed} failed)");
    crate::check_stdout(&finished, binary, &[(DICE_BYTES, dice.as_str())], &summary, false);
    finished
}

/// Runs `binary --max-page 1` (with `args`) on the two 1 GiB fault pages (one with a
/// `Content-Length`, one chunked) and the jython page, and checks that both huge pages fail naming
/// `--max-page`, the jython page is read, and the exit status is 1. On Linux the run's address
/// space is capped at 400 MB (`ulimit -v`; a run needs under 200), so an example that kept a whole
/// body would die instead of passing.
pub fn check_huge_pages_fail_within_bounded_memory(binary: &str, args: &[&str]) -> Finished {
    let server = SitesServer::start(Duration::ZERO).expect("starting the server");
    let jython = server.url_for(SITES[0]);
    let huge = [server.fault_url(Fault::Huge), server.fault_url(Fault::HugeChunked)];
    let mut command = capped_memory(binary, 400_000);
    command.args(args).args(["--repeat", "1", "--timeout", "30", "--max-page", "1"]);
    let finished = run(command.args(&huge).arg(&jython));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    for url in &huge {
        let line = finished.failure(url);
        let line = line.unwrap_or_else(|| panic!("no failure reported for {url}: {finished:#?}"));
        assert!(line.contains("--max-page (1 MiB)"), "{line:?}");
    }
    let summary = "Downloaded 1 of 3 sites in X.XX seconds (2 failed)";
    crate::check_stdout(&finished, binary, &[(JYTHON_BYTES, jython.as_str())], summary, false);
    finished
}

/// `binary` under `ulimit -v KIB` on Linux (where `sh` sets it), plain elsewhere.
fn capped_memory(binary: &str, kib: u64) -> Command {
    if cfg!(target_os = "linux") {
        let mut command = command("sh");
        command.args(["-c", &format!("ulimit -v {kib} && exec \"$0\" \"$@\""), binary]);
        command
    } else {
        command(binary)
    }
}

/// Runs `binary --local` (with `args`) with `SSL_CERT_FILE` at `/dev/zero`, then at a FIFO
/// nobody writes, then with `SSL_CERT_FILE` at an empty file and `SSL_CERT_DIR` at an empty
/// directory (no CA store at all), and checks that each run downloads everything: plain HTTP on
/// 127.0.0.1 needs no certificate, so none is loaded (a FIFO would hang start-up, `/dev/zero`
/// would fill memory).
pub fn check_local_needs_no_ca_store(binary: &str, args: &[&str]) {
    let store = EmptyStore::new("local");
    for (file, dir) in [
        (PathBuf::from("/dev/zero"), None),
        (store.fifo.clone(), None),
        (store.file.clone(), Some(store.dir.clone())),
    ] {
        let mut command = command(binary);
        command.args(["--local", "--latency", "1", "--repeat", "2", "--timeout", "10"]).args(args);
        command.env("SSL_CERT_FILE", &file).env_remove("SSL_CERT_DIR");
        if let Some(dir) = dir {
            command.env("SSL_CERT_DIR", dir);
        }
        let finished = run(&mut command);
        assert_eq!(finished.code, Some(0), "SSL_CERT_FILE={}: {finished:#?}", file.display());
        assert_eq!(finished.reads().len(), 4, "{finished:#?}");
    }
}

/// Runs `binary` on the tutorial's real sites with no CA store (`SSL_CERT_FILE` an empty file,
/// `SSL_CERT_DIR` an empty directory), then with `SSL_CERT_FILE` at `/dev/zero`, and checks that
/// each run stops before any download (nothing on stdout, so nothing needs the internet) with
/// exit status 1 and a message saying what to install, or what is wrong with the variable.
pub fn check_missing_ca_store_is_explained(binary: &str) {
    let store = EmptyStore::new("real");
    let mut command = command(binary);
    command.env("SSL_CERT_FILE", &store.file).env("SSL_CERT_DIR", &store.dir);
    let finished = run(command.args(["--repeat", "1"]));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(finished.stdout.is_empty(), "{finished:#?}");
    assert!(finished.stderr.contains("install ca-certificates"), "{finished:#?}");
    assert!(finished.stderr.contains("--local needs none"), "{finished:#?}");

    let mut command = self::command(binary);
    command.env("SSL_CERT_FILE", "/dev/zero").env_remove("SSL_CERT_DIR");
    let finished = run(command.args(["--repeat", "1"]));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(finished.stdout.is_empty(), "{finished:#?}");
    assert!(finished.stderr.contains("SSL_CERT_FILE=/dev/zero is not a certificate file"));
}

/// A directory of the test's own under the system's temporary one, with an empty file, an empty
/// directory and a FIFO in it: certificate stores with nothing to load. Removed when dropped.
struct EmptyStore {
    root: PathBuf,
    file: PathBuf,
    dir: PathBuf,
    fifo: PathBuf,
}

impl EmptyStore {
    fn new(name: &str) -> EmptyStore {
        let root = std::env::temp_dir().join(format!("testkit-ca-{name}-{}", std::process::id()));
        let (file, dir, fifo) = (root.join("empty.pem"), root.join("certs"), root.join("fifo.pem"));
        std::fs::create_dir_all(&dir).expect("creating a temporary directory");
        File::create(&file).expect("creating an empty file");
        if cfg!(unix) {
            let made = Command::new("mkfifo").arg(&fifo).status();
            assert!(made.is_ok_and(|status| status.success()), "mkfifo {}", fifo.display());
        }
        EmptyStore { root, file, dir, fifo }
    }
}

impl Drop for EmptyStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Runs `binary --local` (with `args`) with stdout and stderr both at `/dev/full`, where every
/// write fails, and checks that it ends with exit status 1, not a panic (101) or a signal. Nothing
/// can be read of what it said: the exit status is all it can tell.
#[cfg(target_os = "linux")]
pub fn check_full_stdout_and_stderr(binary: &str, args: &[&str]) {
    let full = || File::options().write(true).open("/dev/full").expect("opening /dev/full");
    let mut command = command(binary);
    command.args(["--local", "--latency", "1", "--repeat", "3"]).args(args);
    command.stdin(Stdio::null()).stdout(full()).stderr(full());
    let status = run_status(&mut command);
    assert_eq!(status, Some(1), "exit status with stdout and stderr full");
}

/// Runs `binary --local` (with `args`) with stdout at `/dev/full` and stderr read, and checks
/// that every download is reported as failed because its line could not be written, that the
/// summary's failure is said too, that nothing panicked, and that the exit status is 1.
#[cfg(target_os = "linux")]
pub fn check_full_stdout(binary: &str, args: &[&str]) {
    let full = File::options().write(true).open("/dev/full").expect("opening /dev/full");
    let mut command = command(binary);
    command.args(["--local", "--latency", "1", "--repeat", "3"]).args(args);
    let output = command.stdin(Stdio::null()).stdout(full).stderr(Stdio::piped()).spawn();
    let child = output.expect("starting the example");
    let output = crate::process::wait_with_output_within(child, crate::TIME_LIMIT);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.matches("Failed to download").count(), 6, "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("Could not print the summary"), "{stderr}");
}

/// Runs `command` to its end (stdio as the caller set it) and returns its exit code; kills it
/// and panics after [`crate::TIME_LIMIT`].
fn run_status(command: &mut Command) -> Option<i32> {
    let child = command.spawn().expect("starting the example");
    crate::process::wait_with_output_within(child, crate::TIME_LIMIT).status.code()
}

/// Runs `binary` (with `args`) 200 times on a raw HTTP server on 127.0.0.1 that closes every
/// connection right after its answer without saying so (no `Connection: close`), and checks that
/// at most 2 downloads fail: without the retries, 3 to 35% did (io_threads: 120 of 2000). The
/// client reuses a connection the server has already closed, and the GET fails before any byte
/// of its answer; sent again, on another connection, it succeeds. Which connection the retry takes
/// is up to the client's pool and the machine's load, so the check allows a rare failure (1%)
/// rather than be flaky.
pub fn check_retry_when_the_server_closes_silently(binary: &str, args: &[&str]) -> Finished {
    let url = closing_server();
    let finished =
        run(command(binary).args(args).args(["--repeat", "200", "--timeout", "10", &url]));
    let failed = finished.stderr.matches("Failed to download").count();
    assert!(failed <= 2, "{failed} of 200 failed: {finished:#?}");
    assert_eq!(finished.reads().len(), 200 - failed, "{finished:#?}");
    assert_eq!(finished.code, Some(if failed == 0 { 0 } else { 1 }), "{finished:#?}");
    finished
}

/// Runs `binary --timeout 1` (with `args`) on a raw server on 127.0.0.1 whose page arrives a
/// byte every 100 ms and never ends, and checks that the download fails as timed out, naming the
/// URL, with exit status 1: `--timeout` bounds the whole page, not each read.
pub fn check_a_dripping_page_is_bounded_by_timeout(binary: &str, args: &[&str]) -> Finished {
    let url = raw_server("dripping", |stream| {
        read_request_head(&stream);
        let mut stream = &stream;
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        // Until the client hangs up, or for at most a minute.
        for _ in 0..600 {
            if stream.write_all(b"1\r\nx\r\n").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let finished = run(command(binary).args(args).args(["--repeat", "1", "--timeout", "1", &url]));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    let line = finished.failure(&url);
    let line = line.unwrap_or_else(|| panic!("no failure reported for {url}: {finished:#?}"));
    assert!(line.contains("timed out"), "{line:?}");
    finished
}

/// Starts a server on 127.0.0.1 that answers each connection on a thread of its own with
/// `answer`; returns the URL of `path` on it. It runs on detached threads for the rest of the test
/// process, which ends them.
fn raw_server(path: &str, answer: fn(TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let url = format!("http://{}/{path}", listener.local_addr().expect("an address"));
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || answer(stream));
        }
    });
    url
}

/// Reads a request's head, which ends with an empty line (or gives up after 30 s).
fn read_request_head(stream: &TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while matches!(reader.read_line(&mut line), Ok(n) if n > 0) && line != "\r\n" {
        line.clear();
    }
}

/// Starts a server on 127.0.0.1 that answers each request with a 5-byte page and closes the
/// connection at once; returns its URL. It runs on detached threads for the rest of the test
/// process, which ends them.
fn closing_server() -> String {
    raw_server("closing", |stream| {
        read_request_head(&stream);
        let _ = (&stream).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    })
}

/// Runs `binary` (with `args`) where no thread can start (see [`run_without_threads`]: the
/// example's own, reqwest's blocking client's, the look-alike server's, a name lookup's), first
/// with `--local`, then on a URL whose name must be looked up (`localhost`). Checks that each run
/// ends with exit status 1 and a message, without a panic.
pub fn check_no_thread_can_start(binary: &str, args: &[&str]) {
    let looked_up = crate::closed_port_url().replace("127.0.0.1", "localhost");
    for sites in [&["--local"][..], &[&looked_up]] {
        let args = [args, &["--repeat", "2", "--timeout", "10"], sites].concat();
        run_without_threads(binary, &args);
    }
}

/// Runs a CPU example where none of its threads can start ([`run_without_threads`]), and checks
/// that its message says what could not start (`what`).
pub fn check_threads_refused_are_named(binary: &str, what: &str) {
    let finished = run_without_threads(binary, &["--n", "20", "--repeat", "4", "--workers", "2"]);
    assert!(finished.stderr.contains(what), "{finished:#?}");
}

/// Runs `binary` with `RUST_MIN_STACK` asking a petabyte for every thread's stack, so that no
/// thread of the standard library's can start, and checks that it ends with exit status 1 and a
/// message on stderr, without a panic.
fn run_without_threads(binary: &str, args: &[&str]) -> Finished {
    let mut command = command(binary);
    command.env("RUST_MIN_STACK", "1000000000000000").env("RUST_BACKTRACE", "0");
    let finished = run(command.args(args));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(!finished.stderr.contains("panicked"), "{finished:#?}");
    assert!(!finished.stderr.is_empty(), "{finished:#?}");
    finished
}

/// Runs `binary` (with `args`) under `ulimit -u 1`, where no thread or process can start, on a
/// URL whose name must be looked up (`localhost`), and checks that it ends with exit status 1 and
/// a message, without a panic. The limit does not hold for root (this test then skips itself,
/// saying so on stderr), and it counts every process of the user, so 1 is the only value that
/// does not depend on what else runs.
#[cfg(target_os = "linux")]
pub fn check_no_process_can_start(binary: &str, args: &[&str]) {
    // bash says `ulimit -u`, dash `ulimit -p`.
    const LIMIT: &str = "{ ulimit -u 1 || ulimit -p 1; } 2>/dev/null";
    let set = Command::new("sh").args(["-c", &format!("{LIMIT} && echo set")]).output();
    if !set.is_ok_and(|set| set.stdout.starts_with(b"set")) {
        return eprintln!("skipped: this sh cannot lower the number of processes");
    }
    let probe =
        Command::new("sh").args(["-c", &format!("{LIMIT} && sh -c 'true & wait'")]).output();
    if probe.is_ok_and(|probe| probe.status.success()) {
        return eprintln!("skipped: a limit of 1 process does not stop new ones here (root?)");
    }
    let url = crate::closed_port_url().replace("127.0.0.1", "localhost");
    let mut command = command("sh");
    command.args(["-c", &format!("{LIMIT} && exec \"$0\" \"$@\""), binary]).args(args);
    let finished =
        run(command.env("RUST_BACKTRACE", "0").args(["--repeat", "2", "--timeout", "10", &url]));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(!finished.stderr.contains("panicked"), "{finished:#?}");
    assert!(!finished.stderr.is_empty(), "{finished:#?}");
}

/// Runs `binary` (with `args`) with a `--timeline` file in a directory that does not exist, and
/// checks that it fails at once, before any download (nothing on stdout), naming the file.
pub fn check_unwritable_timeline_fails_first(binary: &str, args: &[&str]) {
    let path = std::env::temp_dir().join("testkit-no-such-directory").join("run.svg");
    let mut command = command(binary);
    command.args(args).args(["--local", "--repeat", "1"]).arg("--timeline").arg(&path);
    let finished = run(&mut command);
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(finished.stdout.is_empty(), "{finished:#?}");
    assert!(finished.stderr.contains("Cannot write the timeline to"), "{finished:#?}");
}

/// Runs `binary` (with `args`) on a URL with a line break and an escape sequence in it, at a
/// closed port, and checks that its failure line is one line with neither in it: the URL is
/// printed as the URL standard writes it.
pub fn check_urls_are_printed_escaped(binary: &str, args: &[&str]) {
    let url = format!("{}/a\nFailed to download forged\u{1b}[31m", crate::closed_port_url());
    let finished = run(command(binary).args(args).args(["--repeat", "1", &url]));
    assert_eq!(finished.code, Some(1), "{finished:#?}");
    assert!(!finished.stderr.contains('\u{1b}'), "{finished:#?}");
    assert_eq!(finished.stderr.matches("Failed to download").count(), 1, "{finished:#?}");
    assert!(finished.stderr.contains("%1B[31m"), "{finished:#?}");
}

/// Runs `binary --local` under `ulimit -n 64` (soft and hard, so the server cannot raise it), with
/// `--OPTION 20` when the crate has `option` (`workers` or `limit`), and checks that every site
/// is still read and that the note on stderr names only that option, lowered from 20 to the 8
/// downloads that fit; a crate without such an option gets no note at all.
#[cfg(target_os = "linux")]
pub fn check_open_files_note_names_only_its_option(binary: &str, option: Option<&str>) {
    let mut command = command("sh");
    command.args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", binary]);
    command.args(["--local", "--latency", "1", "--repeat", "5"]);
    if let Some(option) = option {
        command.args([format!("--{option}"), "20".to_string()]);
    }
    let finished = run(&mut command);
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert_eq!(finished.reads().len(), 10, "{finished:#?}");
    let notes = finished.stderr.lines().filter(|line| line.contains("lowered")).collect::<Vec<_>>();
    let expected: Vec<String> =
        option.map(|option| format!("--{option} 20 lowered to 8.")).into_iter().collect();
    let endings: Vec<_> =
        notes.iter().map(|note| note.rsplit(": ").next().unwrap_or_default()).collect();
    assert_eq!(endings, expected, "{finished:#?}");
}

/// The tests of issue 11's faults that every I/O example passes the same way (hostile pages, a
/// broken environment, an exhausted machine), written once: `testkit::io_fault_tests!(IO_SYNC,
/// None)` in an example's test file (`IO_SYNC` a constant there) defines them in a module `faults`, each its own `#[test]`
/// named for its behaviour (`faults::urls_are_printed_escaped`, ...), for `binary`; the second
/// argument is the example's own option that a low open-files limit may name
/// ([`check_open_files_note_names_only_its_option`]).
#[macro_export]
macro_rules! io_fault_tests {
    ($binary:expr, $open_files_option:expr) => {
        mod faults {
            use super::*;

            const BINARY: &str = $binary;

            #[test]
            fn odd_statuses_fail_naming_the_status() {
                $crate::check_odd_statuses_fail(BINARY, &[]);
            }

            #[test]
            fn huge_pages_fail_within_bounded_memory() {
                $crate::check_huge_pages_fail_within_bounded_memory(BINARY, &[]);
            }

            #[test]
            fn local_loads_no_certificates() {
                $crate::check_local_needs_no_ca_store(BINARY, &[]);
            }

            #[test]
            fn a_missing_ca_store_is_explained_before_any_download() {
                $crate::check_missing_ca_store_is_explained(BINARY);
            }

            #[cfg(target_os = "linux")]
            #[test]
            fn full_stdout_and_stderr_end_with_status_1_not_a_panic() {
                $crate::check_full_stdout_and_stderr(BINARY, &[]);
            }

            #[cfg(target_os = "linux")]
            #[test]
            fn a_full_stdout_fails_each_download_and_says_so() {
                $crate::check_full_stdout(BINARY, &[]);
            }

            #[test]
            fn retries_once_when_the_server_closes_each_connection_silently() {
                $crate::check_retry_when_the_server_closes_silently(BINARY, &[]);
            }

            #[test]
            fn no_thread_can_start_ends_with_a_message_not_a_panic() {
                $crate::check_no_thread_can_start(BINARY, &[]);
            }

            #[cfg(target_os = "linux")]
            #[test]
            fn ulimit_u_ends_with_a_message_not_a_panic() {
                $crate::check_no_process_can_start(BINARY, &[]);
            }

            #[test]
            fn an_unwritable_timeline_fails_before_any_download() {
                $crate::check_unwritable_timeline_fails_first(BINARY, &[]);
            }

            #[test]
            fn urls_are_printed_escaped() {
                $crate::check_urls_are_printed_escaped(BINARY, &[]);
            }

            #[cfg(target_os = "linux")]
            #[test]
            fn a_low_open_files_limit_notes_only_its_own_option() {
                $crate::check_open_files_note_names_only_its_option(BINARY, $open_files_option);
            }

            #[test]
            fn a_dripping_page_ends_at_the_timeout() {
                $crate::check_a_dripping_page_is_bounded_by_timeout(BINARY, &[]);
            }
        }
    };
}
