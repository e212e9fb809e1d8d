//! The parent's side: start the workers, hand out tasks, read the replies, notice deaths.
//!
//! Each worker has a thread here that reads its stdout: text goes on to our stdout, replies go to
//! the pool as [`Event`]s, and the end of its stdout (the worker died or exited) is an event too,
//! sent even if the thread itself failed, so that the pool never waits for a reply that cannot come.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, PipeReader, PipeWriter, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

use super::message::{FromWorker, ToWorker, line, split_reply};
use super::{TRACE_VAR, WORKER_FLAG};
use crate::output::warn;
use crate::timeline;

/// How long a worker may take to start and run its set-up before the pool gives up on it.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a shut-down worker may take to exit before it is killed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(2);

/// How many tasks a worker holds at once: the one it runs, and the next, already in its pipe, so
/// that it never waits for the pool between two tasks. The next one only while more tasks wait
/// than there are workers: near the end a task waiting in a slow worker's pipe could not go to a
/// worker that is free (on this project's 2-core VM one core often ran fib 40% slower than the
/// other, and its extra task ended cpu_processes up to 50 ms after cpu_threads).
const QUEUED: usize = 2;

/// The workers of one pool.
pub(super) struct Workers {
    workers: Vec<Worker>,
    events: Receiver<Event>,
    trace: bool,
}

struct Worker {
    name: String,
    pid: u32,
    child: Child,
    /// The pool's end of the worker's stdin; `None` once the worker is dead or shut down.
    stdin: Option<PipeWriter>,
    /// The tasks sent and not answered yet, oldest first, with when each started (or was sent, if
    /// later): the first is the one the worker runs, the others wait in its pipe.
    sent: VecDeque<(usize, Instant)>,
}

/// What a reader thread tells the pool.
enum Event {
    /// A reply from worker `index`; `unprinted` is why text it printed before could not be passed
    /// on to our stdout (a full disk), if it could not.
    Reply { index: usize, reply: FromWorker, unprinted: Option<std::io::Error> },
    /// The end of worker `index`'s stdout: it died or exited.
    Closed(usize),
}

impl Workers {
    /// Starts `count` workers of `program`, sends each `initargs`, and waits until all are ready;
    /// returns them and how long that took.
    pub(super) fn start(
        program: &Path,
        count: usize,
        initargs: Value,
    ) -> anyhow::Result<(Workers, Duration)> {
        if count == 0 {
            bail!("a process pool needs at least one worker");
        }
        let (sender, events) = mpsc::channel();
        let trace = trace_wanted(std::env::var_os(TRACE_VAR).as_deref());
        let mut workers = Workers { workers: Vec::new(), events, trace };
        let start_time = Instant::now();
        let init = line(&ToWorker::Init { args: initargs });
        let mut failed = None;
        for started in start_together(program, count, &init, &sender) {
            match started {
                Ok(worker) => workers.workers.push(worker),
                Err(error) => {
                    failed.get_or_insert(error);
                }
            }
        }
        if let Some(error) = failed {
            return Err(error); // the workers that did start are reaped as `workers` drops
        }
        drop(sender); // Only the readers send: once all have ended, nothing more can come.
        workers.wait_until_ready(start_time)?;
        let startup = start_time.elapsed();
        if trace {
            let each = Millis(startup / count as u32);
            warn(format_args!(
                "pool: {count} workers ready in {}, {each} per worker",
                Millis(startup)
            ));
        }
        Ok((workers, startup))
    }

    fn wait_until_ready(&mut self, start_time: Instant) -> anyhow::Result<()> {
        let mut waiting = self.workers.len();
        while waiting > 0 {
            let left = (start_time + START_TIMEOUT).saturating_duration_since(Instant::now());
            let event = match self.events.recv_timeout(left) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => bail!("the pool's workers did not start in time"),
                Err(RecvTimeoutError::Disconnected) => bail!("the pool's workers all vanished"),
            };
            match event {
                Event::Reply { index, reply: FromWorker::Ready { .. }, .. } => {
                    waiting -= 1;
                    if self.trace {
                        let Worker { name, pid, .. } = &self.workers[index];
                        let after = Millis(start_time.elapsed());
                        warn(format_args!("pool: {name} pid={pid} ready after {after}"));
                    }
                }
                Event::Reply { index, reply: FromWorker::Failed { error }, .. } => {
                    bail!("{} could not set up: {error}", self.workers[index].name);
                }
                Event::Reply { .. } => {}
                Event::Closed(index) => {
                    let worker = &mut self.workers[index];
                    let status = worker.closed();
                    bail!("{} exited while starting ({status})", worker.name);
                }
            }
        }
        Ok(())
    }

    /// Runs every input through the workers, `function` naming the task in messages; `Ok` holds a
    /// task's output. An input that could not be encoded fails without being sent.
    pub(super) fn run(
        &mut self,
        inputs: Vec<anyhow::Result<Value>>,
        function: &str,
    ) -> Vec<anyhow::Result<Value>> {
        let (inputs, mut results): (Vec<Value>, Vec<Option<anyhow::Result<Value>>>) = inputs
            .into_iter()
            .map(|input| match input {
                Ok(input) => (input, None),
                Err(error) => (Value::Null, Some(Err(error))),
            })
            .unzip();
        let inputs = &inputs[..];
        let mut pending: VecDeque<usize> =
            (0..inputs.len()).filter(|&task| results[task].is_none()).collect();
        self.dispatch_all(&mut pending, inputs);
        while self.workers.iter().any(|worker| !worker.sent.is_empty()) {
            let Ok(event) = self.events.recv() else { break };
            match event {
                Event::Reply {
                    index,
                    reply: FromWorker::Done { id, outcome, took },
                    unprinted,
                } => {
                    let received = Instant::now();
                    let worker = &mut self.workers[index];
                    if worker.sent.front().map(|&(task, _)| task) != Some(id) {
                        continue; // Not the task it runs: a bug, and nothing to act on.
                    }
                    let (task, since) = worker.sent.pop_front().expect("checked above");
                    let result = match (outcome, unprinted) {
                        (Ok(_), Some(error)) => Err(error.into()),
                        (Ok(output), None) => Ok(output),
                        (Err(error), _) => Err(anyhow!("{error}")),
                    };
                    let start = received.checked_sub(took).unwrap_or(received).max(since);
                    let label = label(function, &inputs[task]);
                    // A bar's hover text shows what the task returned (`fib(35) = 9227465`);
                    // `()`, which arrives as JSON's null, shows nothing.
                    let shown = result.as_ref().map(|output| match output {
                        Value::Null => String::new(),
                        output => output.to_string(),
                    });
                    timeline::record(&worker.name, label, start, received, &shown);
                    if self.trace {
                        let outcome = match &result {
                            Ok(output) => format!("ok {output}"),
                            Err(error) => format!("error {error}"),
                        };
                        worker.say(format_args!("done task {task}: {outcome}"));
                    }
                    // The next task it holds starts now.
                    if let Some((next, since)) = worker.sent.front_mut() {
                        *since = received.max(*since);
                        let next = *next;
                        if self.trace {
                            worker.say(format_args!("runs task {next}: {}", inputs[next]));
                        }
                    }
                    results[task] = Some(result);
                    self.dispatch(index, &mut pending, inputs);
                }
                Event::Reply { .. } => {}
                Event::Closed(index) => {
                    let worker = &mut self.workers[index];
                    let status = worker.closed();
                    if self.trace {
                        worker.say(format_args!("exited: {status}"));
                    }
                    // A worker answers in order, so only the oldest task it held can have started:
                    // that one fails; the others go to other workers.
                    if let Some((task, since)) = worker.sent.pop_front() {
                        let (name, input) = (&worker.name, &inputs[task]);
                        let label = label(function, input);
                        timeline::record(name, label, since, Instant::now(), false);
                        let error =
                            anyhow!("{name} died while running {function}({input}) ({status})");
                        results[task] = Some(Err(error));
                    }
                    while let Some((task, _)) = worker.sent.pop_back() {
                        pending.push_front(task);
                    }
                    self.dispatch_all(&mut pending, inputs);
                }
            }
        }
        for task in pending {
            let error = anyhow!("no worker process was left to run {function}({})", inputs[task]);
            results[task] = Some(Err(error));
        }
        results.into_iter().map(|result| result.expect("every task has a result")).collect()
    }

    /// Gives every worker a task to run, then one to hold while enough wait ([`QUEUED`]).
    fn dispatch_all(&mut self, pending: &mut VecDeque<usize>, inputs: &[Value]) {
        for depth in 1..=QUEUED {
            for index in 0..self.workers.len() {
                self.fill(index, depth, pending, inputs);
            }
        }
    }

    /// Gives worker `index` tasks until it holds [`QUEUED`], or one when few are left.
    fn dispatch(&mut self, index: usize, pending: &mut VecDeque<usize>, inputs: &[Value]) {
        self.fill(index, QUEUED, pending, inputs);
    }

    fn fill(
        &mut self,
        index: usize,
        depth: usize,
        pending: &mut VecDeque<usize>,
        inputs: &[Value],
    ) {
        let alive = self.workers.iter().filter(|worker| worker.stdin.is_some()).count();
        let worker = &mut self.workers[index];
        while worker.stdin.is_some() && worker.sent.len() < depth {
            if !worker.sent.is_empty() && alive > 1 && pending.len() <= alive {
                return; // the last tasks go to whichever worker is free first
            }
            let Some(task) = pending.pop_front() else { return };
            let message = ToWorker::Task { id: task, input: inputs[task].clone() };
            if worker.write(&line(&message)).is_err() {
                // The worker is dying; the end of its stdout will come, and the task goes to another.
                worker.stdin = None;
                pending.push_front(task);
                return;
            }
            worker.sent.push_back((task, Instant::now()));
            if self.trace && worker.sent.len() == 1 {
                worker.say(format_args!("runs task {task}: {}", inputs[task]));
            }
        }
    }
}

impl Drop for Workers {
    /// Shuts the workers down: each sees the end of its input and exits.
    fn drop(&mut self) {
        for worker in &mut self.workers {
            worker.stdin = None;
        }
        for worker in &mut self.workers {
            worker.reap();
        }
    }
}

/// Starts `count` workers, in their order, from one thread a core at most: starter `s` starts
/// workers `s`, `s + starters`, ... Starting a process holds up its caller until the new process
/// has begun its program, and on this project's 2-core VM the first worker's start kept the second
/// waiting behind it: compare's start-up figure for 2 workers went from 2.3-2.4 ms to 1.4 ms, or
/// 1.9-2.4 to 1.9-2.1 ms in a busier hour. (In a process that has just started, such as
/// cpu_processes itself, it did not move: there the new threads wait for a core as well.) After
/// the first failure no more workers are started; a starter that cannot get a thread does its
/// share on this one.
fn start_together(
    program: &Path,
    count: usize,
    init: &str,
    events: &Sender<Event>,
) -> Vec<anyhow::Result<Worker>> {
    let starters = thread::available_parallelism().map_or(1, usize::from).min(count);
    let failed = AtomicBool::new(false);
    // Each starter tries its first worker whatever the others did, so that the first error in
    // the workers' order is the same from run to run.
    let start_share = |first: usize| {
        let mut started = Vec::new();
        for index in (first..count).step_by(starters) {
            if index != first && failed.load(Ordering::Relaxed) {
                break;
            }
            let worker = Worker::spawn(program, index, init, events);
            if worker.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            started.push((index, worker));
        }
        started
    };
    let mut started: Vec<(usize, anyhow::Result<Worker>)> = thread::scope(|scope| {
        let starting: Vec<_> = (0..starters)
            .map(|first| {
                let starter = thread::Builder::new().stack_size(STARTER_STACK);
                (first, starter.spawn_scoped(scope, move || start_share(first)))
            })
            .collect();
        let finish = |(first, starting)| match starting {
            Ok(starter) => thread::ScopedJoinHandle::join(starter).unwrap_or_else(|_| {
                vec![(first, Err(anyhow!("the thread starting the workers panicked")))]
            }),
            Err(_) => start_share(first),
        };
        starting.into_iter().flat_map(finish).collect()
    });
    started.sort_by_key(|&(index, _)| index);
    started.into_iter().map(|(_, worker)| worker).collect()
}

/// A starter thread's stack: it only starts processes and threads, and a small stack leaves room
/// under a tight memory limit (`ulimit -v`), where the default 2 MiB ones made later allocations
/// fail and abort the process.
const STARTER_STACK: usize = 256 * 1024;

impl Worker {
    fn spawn(
        program: &Path,
        index: usize,
        init: &str,
        events: &Sender<Event>,
    ) -> anyhow::Result<Worker> {
        let name = format!("Process-{}", index + 1);
        // A write to a pipe that nobody can read raises SIGPIPE, whose default (restored for
        // `| head`) ends this whole process: a worker that died would kill the pool. So the pool
        // holds a reader of every worker's stdin itself ([`read_replies`] keeps it).
        let pipe = || format!("cannot make a pipe to {name}");
        let (stdin_reader, stdin) = std::io::pipe().with_context(pipe)?;
        let kept_reader = stdin_reader.try_clone().with_context(pipe)?;
        let mut child = Command::new(program)
            .arg(WORKER_FLAG)
            .arg(&name)
            .stdin(stdin_reader)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", program.display()))?;
        let pid = child.id();
        let replies = child.stdout.take().expect("stdout is piped");
        let events = events.clone();
        let reader = thread::Builder::new().name(format!("{name}-replies"));
        let mut worker = Worker { name, pid, child, stdin: Some(stdin), sent: VecDeque::new() };
        if let Err(error) = reader.spawn(move || read_replies(index, replies, kept_reader, events))
        {
            worker.stdin = None;
            worker.reap();
            let reader = format!("cannot start the thread that reads {}'s replies", worker.name);
            return Err(anyhow::Error::new(error).context(reader));
        }
        if worker.write(init).is_err() {
            worker.stdin = None;
        }
        Ok(worker)
    }

    /// Sends one message line; an error means the worker is gone.
    fn write(&mut self, line: &str) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or(std::io::ErrorKind::BrokenPipe)?;
        stdin.write_all(line.as_bytes())
    }

    /// After the worker's stdout closed: waits for it to exit and describes how it did.
    fn closed(&mut self) -> String {
        self.stdin = None;
        self.reap().map_or_else(|| "exit status unknown".to_string(), |status| status.to_string())
    }

    /// Waits for the worker to exit, polling with a growing pause, and kills it if it does not
    /// within [`EXIT_TIMEOUT`].
    fn reap(&mut self) -> Option<ExitStatus> {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        let mut pause = Duration::from_micros(20);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    return self.child.wait().ok();
                }
                Err(_) => return None,
            }
        }
    }

    /// One trace line about this worker.
    fn say(&self, event: std::fmt::Arguments<'_>) {
        warn(format_args!("pool: {} pid={} {event}", self.name, self.pid));
    }
}

/// Reads one worker's stdout: what its tasks printed goes on to our stdout, replies to the pool.
/// A closed stdout of ours (`| head`) then ends this process as quietly as it ends `cat`, while a
/// worker that dies, by SIGPIPE or otherwise, is only a dead worker.
fn read_replies(index: usize, replies: ChildStdout, stdin: PipeReader, events: Sender<Event>) {
    let closed = ClosedOnDrop(index, events.clone());
    let mut replies = BufReader::new(replies);
    let mut line = Vec::new();
    let mut unprinted = None;
    loop {
        line.clear();
        match replies.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let (text, reply) = split_reply(&line);
        if !text.is_empty() {
            let mut stdout = std::io::stdout().lock();
            if let Err(error) = stdout.write_all(text).and_then(|()| stdout.flush()) {
                unprinted.get_or_insert(error);
            }
        }
        if let Some(reply) = reply {
            let _ = events.send(Event::Reply { index, reply, unprinted: unprinted.take() });
        }
    }
    drop(closed);
    // Until the pool has heard of the end and stopped writing to this worker, its stdin keeps a
    // reader, so that a write cannot raise SIGPIPE, and one that empties it, so that it cannot block.
    let mut stdin = stdin;
    let _ = std::io::copy(&mut stdin, &mut std::io::sink());
}

/// Tells the pool that a worker's stdout ended, when dropped: even if its reader panicked.
struct ClosedOnDrop(usize, Sender<Event>);

impl Drop for ClosedOnDrop {
    fn drop(&mut self) {
        let _ = self.1.send(Event::Closed(self.0));
    }
}

/// Whether the value of [`TRACE_VAR`] turns the trace on: set, and neither empty nor `0`.
fn trace_wanted(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|value| !value.is_empty() && value != "0")
}

/// What a task is called on a timeline: a text input by itself (a download by its URL, so that its
/// site chooses the colour), any other by its function's name (`fib`).
fn label<'a>(function: &'a str, input: &'a Value) -> &'a str {
    match input {
        Value::String(text) => text,
        _ => function,
    }
}

/// A duration in milliseconds with two decimals.
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} ms", self.0.as_secs_f64() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_labels_text_inputs_by_themselves_and_others_by_function() {
        let url = Value::from("http://127.0.0.1:9/dice");
        assert_eq!(label("download_site", &url), "http://127.0.0.1:9/dice");
        assert_eq!(label("fib", &Value::from(35)), "fib");
    }

    #[test]
    fn the_trace_is_on_only_when_asked_for() {
        let on = |value: Option<&str>| trace_wanted(value.map(std::ffi::OsStr::new));
        assert!(on(Some("1")));
        assert!(!on(Some("0")));
        assert!(!on(Some("")));
        assert!(!on(None));
    }
}
