//! Every run goes through a guard: compare starting itself again with a hidden first argument
//! ([`GUARD_FLAG`]). The guard starts the command in a process group of its own and kills that
//! whole group (a Python script's pool workers included) when the run passes its time limit, when
//! the command has exited (a worker it left behind), or when compare goes away, however it died:
//! the guard's stdin is a pipe from compare, and the kernel closes it even after `kill -9`. The
//! process pool's workers end in the same way on end of file; no unsafe code is needed for it.
//!
//! The guard then reports, into a file compare names, how the command ended, its wall clock and
//! what the command and the children it waited for used: CPU seconds and the largest peak RSS
//! (`getrusage(RUSAGE_CHILDREN)`, which counts only processes that were waited for).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

#[cfg(unix)]
use std::os::unix::process::{CommandExt, ExitStatusExt};

/// The hidden first argument that makes compare a guard: `compare --guarded-run REPORT LIMIT_MS
/// PROGRAM ARGS...`.
pub const GUARD_FLAG: &str = "--guarded-run";

/// How much of each output stream compare keeps: the end of it, which holds the summary line and
/// the last lines of a traceback. Memory stays bounded whatever a script prints.
const KEPT_BYTES: usize = 64 * 1024;

/// How a guarded run ended.
#[derive(Debug, PartialEq)]
pub enum Ended {
    /// It exited with this status (0: success).
    Exited(i32),
    /// A signal ended it.
    Signalled(i32),
    /// It passed the time limit and its process group was killed.
    TimedOut,
}

/// One guarded run, as the guard and compare saw it.
pub struct Outcome {
    pub ended: Ended,
    /// Seconds from starting the command to its exit, measured by the guard.
    pub wall: f64,
    /// User plus system seconds of the command and every child it waited for.
    pub cpu: Option<f64>,
    /// The largest peak resident set of any of them, in KiB.
    pub max_rss_kib: Option<u64>,
    /// The end of its stdout and stderr.
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program` with `args` in `dir` under a guard, with extra environment `envs`, killing it
/// after `limit`.
pub fn run(
    program: &Path,
    args: &[String],
    dir: Option<&Path>,
    envs: &[(String, String)],
    limit: Duration,
    report: &Path,
) -> anyhow::Result<Outcome> {
    use anyhow::Context;
    let _ = std::fs::remove_file(report);
    let me = std::env::current_exe().context("cannot find compare's own program")?;
    let mut command = Command::new(me);
    command.arg(GUARD_FLAG).arg(report).arg(limit.as_millis().to_string()).arg(program);
    command.args(args).envs(envs.iter().map(|(key, value)| (key, value)));
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    // The guard's own group, so that Ctrl-C in a terminal reaches compare alone: the guard then
    // sees its stdin close and kills the command's group.
    #[cfg(unix)]
    command.process_group(0);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut guard = command
        .spawn()
        .with_context(|| format!("cannot start a guard for {}", program.display()))?;
    let stdin = guard.stdin.take();
    let stdout = keep_tail(guard.stdout.take());
    let stderr = keep_tail(guard.stderr.take());
    // The guard ends within the limit plus the time a killed group takes to go; past this, something
    // is wrong with the guard itself.
    let deadline = Instant::now() + limit + Duration::from_secs(30);
    let status = wait_until(&mut guard, deadline);
    drop(stdin);
    let text = |reader: mpsc::Receiver<String>| {
        reader.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| "(unreadable)".into())
    };
    let (stdout, stderr) = (text(stdout), text(stderr));
    let status = status.context("the guard did not end")?;
    let line = std::fs::read_to_string(report).unwrap_or_default();
    let _ = std::fs::remove_file(report);
    let Some(outcome) = parse_report(&line, stdout, stderr) else {
        anyhow::bail!("the guard failed ({status}): {}", tail(&text_of_report(&line), 5));
    };
    Ok(outcome)
}

fn text_of_report(line: &str) -> String {
    if line.is_empty() { "no report".into() } else { line.into() }
}

/// Waits for `child` until `deadline`; past it, kills it and returns None.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Reads `stream` to its end on a thread of its own and sends the last [`KEPT_BYTES`] of it.
fn keep_tail(stream: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buffer = [0u8; 8192];
        if let Some(mut stream) = stream {
            while let Ok(read @ 1..) = stream.read(&mut buffer) {
                kept.extend_from_slice(&buffer[..read]);
                if kept.len() > 2 * KEPT_BYTES {
                    kept.drain(..kept.len() - KEPT_BYTES);
                }
            }
        }
        let _ = sender.send(String::from_utf8_lossy(&kept).into_owned());
    });
    receiver
}

/// The report line the guard writes: `exit 0 1.234 0.567 12345` (how it ended, wall seconds, CPU
/// seconds or `-`, peak KiB or `-`).
fn parse_report(line: &str, stdout: String, stderr: String) -> Option<Outcome> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [how, value, wall, cpu, rss] = fields[..] else { return None };
    let ended = match how {
        "exit" => Ended::Exited(value.parse().ok()?),
        "signal" => Ended::Signalled(value.parse().ok()?),
        "timeout" => Ended::TimedOut,
        _ => return None,
    };
    Some(Outcome {
        ended,
        wall: wall.parse().ok()?,
        cpu: cpu.parse().ok(),
        max_rss_kib: rss.parse().ok(),
        stdout,
        stderr,
    })
}

/// The guard itself: `args` are what follows [`GUARD_FLAG`].
pub fn serve(args: &[String]) -> ExitCode {
    let [report, limit, program, args @ ..] = args else {
        return fail("compare's guard: usage: --guarded-run REPORT LIMIT_MS PROGRAM [ARGS...]");
    };
    let Ok(limit) = limit.parse::<u64>() else { return fail("compare's guard: bad limit") };
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    #[cfg(unix)]
    command.process_group(0);
    let start = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return fail(&format!("cannot start {program}: {error}")),
    };
    let group = child.id();
    let (events, event) = mpsc::channel();
    let parent_gone = events.clone();
    // Reads nothing but the end of compare's pipe: compare exited, was killed, or cancels the run.
    thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = parent_gone.send(None);
    });
    thread::spawn(move || {
        let _ = events.send(Some(child.wait()));
    });
    let (how, value) = match event.recv_timeout(Duration::from_millis(limit)) {
        Ok(Some(Ok(status))) => {
            kill_group(group);
            ended_by(status)
        }
        Ok(Some(Err(error))) => {
            kill_group(group);
            return fail(&format!("cannot wait for {program}: {error}"));
        }
        Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            kill_group(group);
            return ExitCode::FAILURE;
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            kill_group(group);
            // SIGKILL cannot be refused: the command's exit follows at once.
            let _ = event.recv_timeout(Duration::from_secs(10));
            ("timeout", 0)
        }
    };
    let wall = start.elapsed().as_secs_f64();
    let (cpu, rss) = children_usage();
    let line = format!("{how} {value} {wall:.6} {cpu} {rss}\n");
    match std::fs::File::create(PathBuf::from(report))
        .and_then(|mut f| f.write_all(line.as_bytes()))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("cannot write the run's report {report}: {error}")),
    }
}

fn ended_by(status: ExitStatus) -> (&'static str, i32) {
    #[cfg(unix)]
    if let Some(signal) = status.signal() {
        return ("signal", signal);
    }
    ("exit", status.code().unwrap_or(-1))
}

fn fail(message: &str) -> ExitCode {
    shared::output::warn(message);
    ExitCode::FAILURE
}

/// Kills every process of the group that `leader` started (the command and what it started).
#[cfg(unix)]
fn kill_group(leader: u32) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Ok(leader) = i32::try_from(leader) {
        let _ = killpg(Pid::from_raw(leader), Signal::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_leader: u32) {}

/// CPU seconds and peak KiB of the children this process waited for, as text (`-` when unknown).
#[cfg(unix)]
fn children_usage() -> (String, String) {
    use nix::sys::resource::{UsageWho, getrusage};
    let Ok(usage) = getrusage(UsageWho::RUSAGE_CHILDREN) else { return ("-".into(), "-".into()) };
    let seconds =
        |time: nix::sys::time::TimeVal| time.tv_sec() as f64 + time.tv_usec() as f64 / 1e6;
    let cpu = seconds(usage.user_time()) + seconds(usage.system_time());
    // Linux and the BSDs count in KiB, macOS in bytes.
    let rss = if cfg!(target_vendor = "apple") { usage.max_rss() / 1024 } else { usage.max_rss() };
    (format!("{cpu:.6}"), rss.to_string())
}

#[cfg(not(unix))]
fn children_usage() -> (String, String) {
    ("-".into(), "-".into())
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
