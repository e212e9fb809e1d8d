//! What only the tests of the examples built on a [`ProcessPool`](super::ProcessPool) need, on top
//! of [`crate`]: turn on and read the pool's trace while the example runs, kill a busy
//! worker or the parent, and check that no worker outlives its parent. Finding and killing
//! processes by id uses `/proc` and the `kill` command, so the tests that need it are Linux-only.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Finished, Running, command, run};
use shared::pool::{TRACE_VAR, WORKER_FLAG};

/// A command that runs `binary` with the pool's trace on its stderr, one [`TraceLine`] per event.
pub fn traced(binary: &str) -> Command {
    let mut command = command(binary);
    command.env(TRACE_VAR, "1");
    command
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

    /// For `runs` lines: the task's input; for `done` lines: `ok VALUE` or `error MESSAGE` (values
    /// in JSON: `35`, `"http://127.0.0.1:8000/"`).
    pub fn value(&self) -> Option<&str> {
        self.detail.split_once(": ").map(|(_, value)| value)
    }
}

/// Waits for the next trace line that `wanted` accepts; panics if none comes within the time limit.
fn wait_for_trace(running: &Running, wanted: impl Fn(&TraceLine) -> bool) -> TraceLine {
    let accepted = |line: &str| TraceLine::parse(line).filter(|line| wanted(line));
    let line = running.wait_for_line(|line| accepted(line).is_some());
    line.and_then(|line| accepted(&line)).expect("the trace line comes")
}

/// Waits for the `ready` lines of `workers` workers, and returns their process ids.
fn worker_pids(running: &Running, workers: usize) -> Vec<u32> {
    (0..workers).map(|_| wait_for_trace(running, |line| line.event == "ready").pid).collect()
}

/// Runs `binary` with `args` and the trace on, on a pool of `workers`, kills with SIGKILL the first
/// worker whose `runs` line `busy` accepts, and returns the run and that line.
pub fn kill_busy_worker(
    binary: &str,
    args: &[&str],
    workers: usize,
    busy: impl Fn(&TraceLine) -> bool,
) -> (Finished, TraceLine) {
    signal_busy_worker(binary, args, workers, "KILL", busy)
}

/// [`kill_busy_worker`] with another signal, such as `PIPE` (as `kill -PIPE` sends it).
pub fn signal_busy_worker(
    binary: &str,
    args: &[&str],
    workers: usize,
    signal: &str,
    busy: impl Fn(&TraceLine) -> bool,
) -> (Finished, TraceLine) {
    let running = Running::start(traced(binary).args(args));
    let _cleanup = KillOnDrop(worker_pids(&running, workers));
    let busy = wait_for_trace(&running, |line| line.event == "runs" && busy(line));
    send_signal(busy.pid, signal);
    (running.finish(), busy)
}

/// Runs `binary` with `args` and the trace on, on a pool of `workers` with more tasks than they
/// can finish at once, and kills a worker between two tasks: stops the parent (SIGSTOP), waits
/// until `Process-1` has answered all it held and sleeps waiting for more (or, if it never does,
/// sleeps inside a task), kills it with SIGKILL,
/// and lets the parent go on (SIGCONT), which then sends that dead worker its next task. Returns
/// the run.
pub fn kill_idle_worker(binary: &str, args: &[&str], workers: usize) -> Finished {
    let running = Running::start(traced(binary).args(args));
    let ready: Vec<TraceLine> =
        (0..workers).map(|_| wait_for_trace(&running, |line| line.event == "ready")).collect();
    let _cleanup = KillOnDrop(ready.iter().map(|line| line.pid).collect());
    let first = ready.iter().find(|line| line.worker == "Process-1").expect("Process-1 started");
    wait_for_trace(&running, |line| line.event == "done");
    let parent = running.pid();
    send_signal(parent, "STOP");
    // Asleep twice, 100 ms apart: done with what it held, not waiting inside a task.
    let asleep = || is_sleeping(first.pid) && sleep_then(Duration::from_millis(100));
    let idle = wait_until(Duration::from_secs(10), || asleep() && is_sleeping(first.pid));
    send_signal(first.pid, "KILL");
    send_signal(parent, "CONT");
    let finished = running.finish();
    assert!(idle, "Process-1 never waited for a task: {finished:#?}");
    finished
}

/// Runs `binary` with `args` and the trace on, on a pool of `workers` whose tasks never end, kills
/// the parent with SIGKILL once every worker is busy, and checks that every worker ends within 10
/// seconds: no orphan is left computing or downloading.
pub fn check_no_worker_outlives_a_killed_parent(binary: &str, args: &[&str], workers: usize) {
    let mut running = Running::start(traced(binary).args(args));
    let pids = worker_pids(&running, workers);
    let _cleanup = KillOnDrop(pids.clone());
    for _ in 0..workers {
        wait_for_trace(&running, |line| line.event == "runs");
    }
    running.kill();
    let left = wait_until_gone(&pids, Duration::from_secs(10));
    assert!(left.is_empty(), "workers {left:?} outlived their parent");
    running.finish();
}

/// Checks that `binary --help` shows `--workers` but not [`WORKER_FLAG`], which is no option of the
/// example.
pub fn check_help_hides_the_worker_flag(binary: &str) {
    let finished = run(command(binary).arg("--help"));
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    assert!(finished.stdout.contains("--workers"), "{finished:#?}");
    assert!(!finished.stdout.contains(WORKER_FLAG), "{finished:#?}");
}

/// Sends SIGKILL to process `pid`, as `kill -9` does.
fn kill_pid(pid: u32) {
    send_signal(pid, "KILL");
}

/// Sends `signal` (`KILL`, `PIPE`, `STOP`, ...) to process `pid`, as `kill -SIGNAL` does.
fn send_signal(pid: u32, signal: &str) {
    let signal = format!("-{signal}");
    let _ = Command::new("kill").args([&signal, &pid.to_string()]).stderr(Stdio::null()).status();
}

/// Whether process `pid` sleeps (state `S`): a worker waiting for its next task.
fn is_sleeping(pid: u32) -> bool {
    process_state(pid) == Some('S')
}

/// The state letter of process `pid` (`R`, `S`, `Z`, ...), from `/proc`.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the command name, which is in parentheses and may contain spaces.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Sleeps for `pause`; true.
fn sleep_then(pause: Duration) -> bool {
    thread::sleep(pause);
    true
}

/// Waits up to `timeout` for `done` to hold; returns whether it did.
fn wait_until(timeout: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Whether process `pid` is still running (a zombie, dead but not yet reaped, is not).
fn is_running(pid: u32) -> bool {
    process_state(pid).is_some_and(|state| !matches!(state, 'Z' | 'X'))
}

/// Waits up to `timeout` until none of `pids` is running; returns those still running.
fn wait_until_gone(pids: &[u32], timeout: Duration) -> Vec<u32> {
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
fn is_pool_worker(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
    cmdline.split(|&byte| byte == 0).any(|arg| arg == WORKER_FLAG.as_bytes())
}

/// Kills, when dropped, every listed process that is still a running pool worker, so that a
/// failing test leaves no worker behind.
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if is_running(pid) && is_pool_worker(pid) {
                kill_pid(pid);
            }
        }
    }
}
