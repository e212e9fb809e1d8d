//! Helpers for the tests of the examples built on a [`ProcessPool`](super::ProcessPool):
//! run the real binary with a deadline, read the pool's trace while it runs, kill a worker or the
//! parent, and check that no worker outlives its parent. Finding and killing processes by id uses
//! `/proc` and the `kill` command, so the tests that need it are Linux-only.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{TRACE_VAR, WORKER_FLAG};

/// How long the helpers wait for a line they were told to expect.
const DEADLINE: Duration = Duration::from_secs(60);

/// A running example, its stdout and stderr read as they come.
pub struct Run {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    stderr_lines: Receiver<String>,
    readers_done: Receiver<()>,
}

/// How a [`Run`] ended.
#[derive(Debug)]
pub struct Finished {
    /// `None` when it had to be killed at the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The stdout lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// The exit code, `None` when killed.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|status| status.code())
    }
}

impl Run {
    /// Starts `program` with `args`; `trace` turns on the pool's trace on stderr.
    pub fn start(program: &str, args: &[&str], trace: bool) -> Run {
        let mut command = Command::new(program);
        command.args(args);
        if trace {
            command.env(TRACE_VAR, "1");
        } else {
            command.env_remove(TRACE_VAR);
        }
        Run::spawn(&mut command)
    }

    /// Starts `command` (its stdin empty, its stdout and stderr read here).
    pub fn spawn(command: &mut Command) -> Run {
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let started = command.spawn();
        let mut child = started.unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (line_sender, stderr_lines) = mpsc::channel();
        let (done_sender, readers_done) = mpsc::channel();
        let out_pipe = child.stdout.take().expect("stdout is piped");
        let err_pipe = child.stderr.take().expect("stderr is piped");
        let (out, done) = (stdout.clone(), done_sender.clone());
        thread::spawn(move || {
            read_lines(out_pipe, &out, |_| {});
            let _ = done.send(());
        });
        let err = stderr.clone();
        thread::spawn(move || {
            read_lines(err_pipe, &err, |line| {
                let _ = line_sender.send(line.to_string());
            });
            let _ = done_sender.send(());
        });
        Run { child, stdout, stderr, stderr_lines, readers_done }
    }

    /// The example's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for a stderr line that `wanted` accepts, and returns it.
    pub fn wait_for_line(
        &self,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.stderr_lines.recv_timeout(left).ok()?;
            if wanted(&line) {
                return Some(line);
            }
        }
    }

    /// Waits for the trace's `ready` lines of `workers` workers, and returns their process ids.
    pub fn worker_pids(&self, workers: usize) -> Vec<u32> {
        let ready = |line: &str| TraceLine::parse(line).filter(|line| line.event == "ready");
        let pids = (0..workers).map(|_| self.wait_for_line(DEADLINE, |line| ready(line).is_some()));
        let pids = pids.map(|line| line.and_then(|line| ready(&line)).map(|line| line.pid));
        pids.map(|pid| pid.expect("every worker gets ready")).collect()
    }

    /// Kills the example itself with SIGKILL, as `kill -9` does: it gets no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `timeout` for the example to exit (killing it then), and for its output.
    pub fn finish(mut self, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    self.kill();
                    break None;
                }
            }
        };
        // Workers share the example's stdout: give them a moment to let go of it, no more.
        for _ in 0..2 {
            let _ = self.readers_done.recv_timeout(Duration::from_secs(5));
        }
        let stdout = self.stdout.lock().expect("reader panicked").clone();
        let stderr = self.stderr.lock().expect("reader panicked").clone();
        Finished { status, stdout, stderr }
    }
}

/// A test that fails before the end of its run leaves no example running.
impl Drop for Run {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Runs `program` with `args` to the end, killing it after `timeout`.
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Finished {
    Run::start(program, args, false).finish(timeout)
}

fn read_lines(pipe: impl Read, into: &Mutex<String>, mut each: impl FnMut(&str)) {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(pipe);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let text = String::from_utf8_lossy(&line);
        into.lock().expect("a reader panicked").push_str(&text);
        each(text.trim_end_matches('\n'));
        line.clear();
    }
}

/// One line of the pool's trace: `pool: Process-2 pid=4242 runs task 7: 35`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceLine {
    /// `Process-2`.
    pub worker: String,
    /// 4242.
    pub pid: u32,
    /// `ready`, `runs`, `done` or `exited`.
    pub event: String,
    /// The rest: `task 7: 35`.
    pub detail: String,
}

impl TraceLine {
    /// Parses a trace line about one worker; `None` for any other line.
    pub fn parse(line: &str) -> Option<TraceLine> {
        let rest = line.strip_prefix("pool: ")?;
        let mut parts = rest.splitn(4, ' ');
        let worker = parts.next()?.to_string();
        let pid = parts.next()?.strip_prefix("pid=")?.parse().ok()?;
        let event = parts.next()?.to_string();
        let detail = parts.next().unwrap_or_default().to_string();
        Some(TraceLine { worker, pid, event, detail })
    }

    /// For `runs` and `done` lines: the task's number.
    pub fn task(&self) -> Option<usize> {
        let rest = self.detail.strip_prefix("task ")?;
        rest.split(':').next()?.parse().ok()
    }

    /// For `runs` lines: the task's input; for `done` lines: `ok VALUE` or `error MESSAGE`.
    pub fn value(&self) -> Option<&str> {
        self.detail.split_once(": ").map(|(_, value)| value)
    }
}

/// Sends SIGKILL to process `pid`, as `kill -9` does.
pub fn kill_pid(pid: u32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).stderr(Stdio::null()).status();
}

/// Whether process `pid` is still running (a zombie, dead but not yet reaped, is not).
pub fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may contain spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Waits up to `timeout` until none of `pids` is running; returns those still running.
pub fn wait_until_gone(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        let running: Vec<u32> = pids.iter().copied().filter(|&pid| is_running(pid)).collect();
        if running.is_empty() || Instant::now() >= deadline {
            return running;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Whether process `pid` is a pool's worker: its command line has [`WORKER_FLAG`].
pub fn is_pool_worker(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
    cmdline.split(|&byte| byte == 0).any(|arg| arg == WORKER_FLAG.as_bytes())
}

/// Kills, when dropped, every listed process that is still a running pool worker, so that a
/// failing test leaves no worker behind.
#[derive(Default)]
pub struct KillOnDrop(pub Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if is_running(pid) && is_pool_worker(pid) {
                kill_pid(pid);
            }
        }
    }
}
