//! How the tests run an example: its real binary as a child process, with a time limit, its stdout
//! and stderr read as they come, and what it printed once it ended. Re-exported by
//! the crate root.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use shared::pool::TRACE_VAR;

/// The longest a test lets an example run, or waits for a line from it, before killing it: far
/// beyond any honest run, so that a hang fails the test instead of hanging CI.
pub const TIME_LIMIT: Duration = Duration::from_secs(60);

/// A command that runs `binary` as the tests expect it: without the process pool's trace, even if
/// the developer's environment turns it on.
pub fn command(binary: &str) -> Command {
    let mut command = Command::new(binary);
    command.env_remove(TRACE_VAR);
    command
}

/// What a finished example printed, and how it exited.
#[derive(Debug)]
pub struct Finished {
    /// The command that ran, for the failure messages.
    pub command: String,
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

    /// The stderr lines that start with `prefix`, such as `Failed to download`.
    pub fn stderr_lines(&self, prefix: &str) -> Vec<&str> {
        self.stderr.lines().filter(|line| line.starts_with(prefix)).collect()
    }

    /// The stderr line that reports `url` as failed, if any.
    pub fn failure(&self, url: &str) -> Option<&str> {
        self.stderr_lines(&format!("Failed to download {url}: ")).first().copied()
    }
}

fn parse_read(line: &str) -> Option<(usize, &str)> {
    let (_, rest) = line.split_once("Read ")?;
    let (bytes, url) = rest.split_once(" bytes from ")?;
    Some((bytes.parse().ok()?, url))
}

/// Waits up to `limit` for `child` to end and returns its exit status and what it printed on the
/// pipes it has (stdio the caller set to a file reads as empty); kills it and panics past `limit`.
pub(crate) fn wait_with_output_within(mut child: Child, limit: Duration) -> std::process::Output {
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        let (sender, received) = mpsc::channel();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            let _ = sender.send(bytes);
        });
        received
    };
    let stdout = read(child.stdout.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>));
    let stderr = read(child.stderr.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("waiting for the example") {
            Some(status) => break status,
            None if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the example ran longer than {limit:?}");
            }
        }
    };
    let collect = |received: Receiver<Vec<u8>>| {
        received.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
    };
    std::process::Output { status, stdout: collect(stdout), stderr: collect(stderr) }
}

/// Runs `command` to its end with its output captured, and panics if it takes longer than
/// [`TIME_LIMIT`] (after killing it) or cannot start.
pub fn run(command: &mut Command) -> Finished {
    Running::start(command).finish()
}

/// Runs `command` with its stdout and stderr going to `stdout` and `stderr` (such as `/dev/full`)
/// instead of being captured, and returns its exit code (`None` if a signal ended it); panics if
/// it takes longer than [`TIME_LIMIT`] (after killing it) or cannot start.
pub fn run_writing_to(command: &mut Command, stdout: Stdio, stderr: Stdio) -> Option<i32> {
    let description = format!("{command:?}");
    let started = command.stdin(Stdio::null()).stdout(stdout).stderr(stderr).spawn();
    let mut child = started.unwrap_or_else(|error| panic!("cannot start {description}: {error}"));
    let deadline = Instant::now() + TIME_LIMIT;
    loop {
        match child.try_wait().expect("waiting for the example") {
            Some(status) => return status.code(),
            None if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{description} ran longer than {TIME_LIMIT:?}");
            }
        }
    }
}

/// A running example whose stdout and stderr are read as they come, so that a test can act on a
/// stderr line (such as the pool's trace) before the example ends. Dropping it kills the example,
/// so that a test that fails early leaves nothing running.
pub struct Running {
    child: Child,
    description: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    stderr_lines: Receiver<String>,
    readers_done: Receiver<()>,
}

impl Running {
    /// Starts `command` with its stdin empty; panics if it cannot start.
    pub fn start(command: &mut Command) -> Running {
        Running::spawn(command, None)
    }

    /// Like [`Running::start`], but closes this end of the example's stdout after its first
    /// `lines` lines, as `| head -n LINES` does.
    pub fn start_closing_stdout_after(command: &mut Command, lines: usize) -> Running {
        Running::spawn(command, Some(lines))
    }

    fn spawn(command: &mut Command, stdout_lines: Option<usize>) -> Running {
        let description = format!("{command:?}");
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let started = command.spawn();
        let mut child =
            started.unwrap_or_else(|error| panic!("cannot start {description}: {error}"));
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let (line_sender, stderr_lines) = mpsc::channel();
        let (done_sender, readers_done) = mpsc::channel();
        let (out_pipe, out, done) = (child.stdout.take(), Arc::clone(&stdout), done_sender.clone());
        thread::spawn(move || {
            let mut read = 0;
            read_lines(out_pipe, &out, |_| {
                read += 1;
                stdout_lines != Some(read)
            });
            let _ = done.send(());
        });
        let (err_pipe, err) = (child.stderr.take(), Arc::clone(&stderr));
        thread::spawn(move || {
            read_lines(err_pipe, &err, |line| {
                let _ = line_sender.send(line.to_string());
                true
            });
            let _ = done_sender.send(());
        });
        Running { child, description, stdout, stderr, stderr_lines, readers_done }
    }

    /// Waits up to [`TIME_LIMIT`] for a stderr line that `wanted` accepts, and returns it; the
    /// lines before it are passed over.
    pub fn wait_for_line(&self, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + TIME_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.stderr_lines.recv_timeout(left).ok()?;
            if wanted(&line) {
                return Some(line);
            }
        }
    }

    /// The example's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the example itself with SIGKILL, as `kill -9` does: it gets no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the example to end and returns what it printed; panics if it takes longer than
    /// [`TIME_LIMIT`] (after killing it).
    pub fn finish(self) -> Finished {
        self.finish_within(TIME_LIMIT)
    }

    fn finish_within(mut self, time_limit: Duration) -> Finished {
        let deadline = Instant::now() + time_limit;
        let status = loop {
            match self.child.try_wait().expect("waiting for the example") {
                Some(status) => break Some(status),
                None if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                None => {
                    self.kill();
                    break None;
                }
            }
        };
        // Bounded too: a grandchild (a pool's worker) that kept the pipes open must not hang the
        // test. Whatever was read by then is kept.
        for _ in 0..2 {
            let _ = self.readers_done.recv_timeout(Duration::from_secs(5));
        }
        let stdout = self.stdout.lock().expect("a reader panicked").clone();
        let stderr = self.stderr.lock().expect("a reader panicked").clone();
        let Some(status) = status else {
            let description = &self.description;
            panic!(
                "{description} ran longer than {time_limit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
            )
        };
        Finished { command: self.description.clone(), code: status.code(), stdout, stderr }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Reads `pipe` line by line into `into`, handing each line to `each`, until the pipe ends or `each`
/// says to stop; the pipe is closed when this returns.
fn read_lines(pipe: Option<impl Read>, into: &Mutex<String>, mut each: impl FnMut(&str) -> bool) {
    let Some(pipe) = pipe else { return };
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let text = String::from_utf8_lossy(&line);
        into.lock().expect("a reader panicked").push_str(&text);
        if !each(text.trim_end_matches('\n')) {
            return;
        }
        line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_lines_are_parsed_with_or_without_a_prefix() {
        let finished = Finished {
            command: "io_processes".into(),
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
        Running::start(Command::new("sleep").arg("30")).finish_within(Duration::from_millis(200));
    }
}
