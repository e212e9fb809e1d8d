//! A pool of worker processes that reads like Python's `concurrent.futures.ProcessPoolExecutor`.
//!
//! Python's standard library starts worker processes, pickles a function's name and its arguments
//! to them and collects the results. Rust's has no such pool, so this one re-runs the program itself
//! (`std::env::current_exe()`) once per worker with a marker argument, as Python's `spawn` start
//! method does with `--multiprocessing-fork`. The worker's `main` calls [`serve_if_worker`] (or
//! [`serve_if_worker_with`]) first: in a worker that call serves tasks and exits, in the parent it
//! returns at once. The marker is not an option of the example, so `--help` never shows it.
//!
//! How the pool and a worker talk, one message per line ([`Wire`] turns values into text):
//! - the worker's **stdin** carries the pool's messages: the set-up arguments, then one task at a
//!   time. Task data never goes through a command line or a shell.
//! - the worker's **stderr** carries its replies, each behind a marker. Anything else a worker writes
//!   there (a panic message) is passed on to the parent's stderr.
//! - the worker's **stdout** is the parent's, so what a task prints goes straight to the terminal,
//!   as in Python, in whole lines, and before the task's reply.
//!
//! Faults. A task that returns an error or panics fails alone, and its worker goes on. A worker that
//! dies (killed, aborted, exited) fails the task it was running, with its name and that task in the
//! error; the pool goes on with the workers it has left, and once none is left every remaining task
//! fails. A task is never run twice: a task that killed one worker would likely kill the next, and a
//! download or a payment is not safe to repeat. Python's pool is harsher: one dead worker breaks it
//! (`BrokenProcessPool`) and every pending task fails.
//!
//! No orphans. A thread in each worker owns its stdin and ends the whole process at end of input,
//! even in the middle of a task. End of input comes when the pool is dropped, and also when the
//! parent dies in any way, `kill -9` included, because the kernel then closes the parent's end of
//! every pipe.
//!
//! Tracing. With `PROCESS_POOL_TRACE=1` in its environment, the parent writes to stderr a line per
//! event (`pool: Process-2 pid=4242 runs task 7: 35`), which the tests read to find busy workers.
//!
//! Timeline. A worker times each task and sends how long it took with the result (`took=`, in
//! nanoseconds); with `--timeline`, the pool records the task on the worker's lane, ending when
//! the result arrived ([`crate::timeline::record`]). So the examples need no line of their own.

use std::any::TypeId;
use std::borrow::Borrow;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

#[cfg(feature = "io")]
use crate::args::ClientSettings;
use crate::timeline;

/// The argument that turns the program into a worker: `program --process-pool-worker Process-3`.
pub const WORKER_FLAG: &str = "--process-pool-worker";

/// The environment variable that makes the parent trace the pool's events on stderr.
pub const TRACE_VAR: &str = "PROCESS_POOL_TRACE";

/// What a reply line starts with on a worker's stderr, so that it can never be confused with text.
const MARK: &str = "\u{1}process-pool\u{2}";

/// How long a worker may take to start and run its set-up before the pool gives up on it.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a shut-down worker may take to exit before it is killed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(2);

/// A value that crosses a pipe between the pool and a worker: Python pickles it, we write it as text.
pub trait Wire {
    /// What decoding gives back: `String` for `str`, the type itself for the others.
    type Owned: Borrow<Self>;
    /// The value as text (the message layer escapes line breaks and spaces).
    fn encode(&self) -> String;
    /// The value back from [`Wire::encode`]'s text.
    fn decode(text: &str) -> anyhow::Result<Self::Owned>;
}

impl Wire for str {
    type Owned = String;
    fn encode(&self) -> String {
        self.to_string()
    }
    fn decode(text: &str) -> anyhow::Result<String> {
        Ok(text.to_string())
    }
}

impl Wire for String {
    type Owned = String;
    fn encode(&self) -> String {
        self.clone()
    }
    fn decode(text: &str) -> anyhow::Result<String> {
        Ok(text.to_string())
    }
}

impl Wire for () {
    type Owned = ();
    fn encode(&self) -> String {
        String::new()
    }
    fn decode(_: &str) -> anyhow::Result<()> {
        Ok(())
    }
}

macro_rules! wire_by_display {
    ($($type:ty),*) => {$(
        impl Wire for $type {
            type Owned = $type;
            fn encode(&self) -> String {
                self.to_string()
            }
            fn decode(text: &str) -> anyhow::Result<$type> {
                text.parse().with_context(|| format!("not a {}: {text:?}", stringify!($type)))
            }
        }
    )*};
}

wire_by_display!(bool, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

/// io_processes sends each worker its client settings, as Python's `initargs`.
#[cfg(feature = "io")]
impl Wire for ClientSettings {
    type Owned = ClientSettings;
    fn encode(&self) -> String {
        format!("{} {} {}", self.timeout.as_nanos(), self.on_this_machine, self.max_page)
    }
    fn decode(text: &str) -> anyhow::Result<ClientSettings> {
        let mut fields = text.split(' ');
        let mut next = || fields.next().context("expected a timeout, a flag and a size");
        Ok(ClientSettings {
            timeout: Duration::from_nanos(u64::decode(next()?)?),
            on_this_machine: bool::decode(next()?)?,
            max_page: u64::decode(next()?)?,
        })
    }
}

/// A function a worker can run for the pool. Two shapes implement it:
/// - `fn(T) -> R`, such as `fib(n: u32) -> u64`: no set-up, cannot fail;
/// - `fn(&T, &C) -> anyhow::Result<R>`, such as `download_site(url: &str, client: &Client)`: `C` is
///   what the worker's set-up function (Python's `initializer`) made, once per worker.
///
/// `Shape` only tells the two apart; the compiler infers it.
pub trait Task<Shape>: Copy + 'static {
    /// What each task is given (sent to the worker).
    type Input: Wire + ?Sized;
    /// What the worker's set-up made.
    type Context;
    /// What each task gives back (sent back to the pool).
    type Output: Wire<Owned = Self::Output>;
    /// Runs one task.
    fn call(self, input: &Self::Input, context: &Self::Context) -> anyhow::Result<Self::Output>;
}

/// The [`Task`] shape `fn(T) -> R`.
pub struct Plain<T, R>(std::marker::PhantomData<fn(T) -> R>);

/// The [`Task`] shape `fn(&T, &C) -> anyhow::Result<R>`.
pub struct WithContext<T: ?Sized, C, R>(std::marker::PhantomData<fn(&T, &C) -> R>);

impl<F, T, R> Task<Plain<T, R>> for F
where
    F: Fn(T) -> R + Copy + 'static,
    T: Wire<Owned = T> + Clone,
    R: Wire<Owned = R>,
{
    type Input = T;
    type Context = ();
    type Output = R;
    fn call(self, input: &T, _: &()) -> anyhow::Result<R> {
        Ok(self(input.clone()))
    }
}

impl<F, T, C, R> Task<WithContext<T, C, R>> for F
where
    F: Fn(&T, &C) -> anyhow::Result<R> + Copy + 'static,
    T: Wire + ?Sized,
    R: Wire<Owned = R>,
{
    type Input = T;
    type Context = C;
    type Output = R;
    fn call(self, input: &T, context: &C) -> anyhow::Result<R> {
        self(input, context)
    }
}

/// The worker entry point for tasks without set-up (cpu_processes: `serve_if_worker(fib)`). Call it
/// first thing in `main`. In a worker it runs `task` on every task it is sent and then exits the
/// process; in the parent it only notes which function the workers serve, and returns.
pub fn serve_if_worker<A, F: Task<A, Context = ()>>(task: F) {
    serve_if_worker_with(no_set_up, task);
}

/// The worker entry point for tasks with a per-worker set-up, Python's `initializer`
/// (io_processes: `serve_if_worker_with(init_process, download_site)`). In a worker it calls
/// `init` once with the pool's set-up arguments, then runs `task` with what `init` made on every
/// task it is sent, and exits the process; in the parent it returns at once.
pub fn serve_if_worker_with<G, I, C, A, F>(init: G, task: F)
where
    G: Fn(I) -> anyhow::Result<C> + 'static,
    I: Wire<Owned = I>,
    F: Task<A, Context = C>,
{
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(WORKER_FLAG)) {
        let _ = SERVED.set(Served { init: TypeId::of::<G>(), task: TypeId::of::<F>() });
        return;
    }
    let name = args.next().and_then(|name| name.into_string().ok()).unwrap_or_default();
    let _ = PROCESS_NAME.set(name);
    sigpipe::reset(); // a closed stdout ends the worker quietly, as it ends the parent (args.rs)
    let status = match serve(init, task) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("{}: {error:#}", current_process_name());
            1
        }
    };
    std::process::exit(status)
}

/// The name of this process: `Process-1` ... `Process-N` in a pool's workers, `MainProcess`
/// elsewhere, as Python's `multiprocessing.current_process().name`.
pub fn current_process_name() -> &'static str {
    PROCESS_NAME.get().map_or("MainProcess", String::as_str)
}

static PROCESS_NAME: OnceLock<String> = OnceLock::new();

/// Which functions this program's workers serve, noted by the entry point in the parent, so that a
/// pool can refuse a function its workers do not know (Python would import it by name).
static SERVED: OnceLock<Served> = OnceLock::new();

struct Served {
    init: TypeId,
    task: TypeId,
}

fn no_set_up(_: ()) -> anyhow::Result<()> {
    Ok(())
}

/// The worker's side: set up, then answer tasks until the pool closes our stdin.
fn serve<G, I, C, A, F>(init: G, task: F) -> anyhow::Result<()>
where
    G: Fn(I) -> anyhow::Result<C>,
    I: Wire<Owned = I>,
    F: Task<A, Context = C>,
{
    let (sender, messages) = mpsc::channel();
    // This thread alone reads stdin. At end of input the pool is gone (shut down, or its process
    // died, even by kill -9), and the worker must not outlive it: exit now, even mid-task.
    thread::Builder::new().name("pool-input".into()).spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
        std::process::exit(0)
    })?;
    let init_message = Message::decode(&messages.recv()?).context("expected the set-up message")?;
    let context = I::decode(init_message.get("args").unwrap_or_default()).and_then(init);
    let context = match context {
        Ok(context) => context,
        Err(error) => {
            send(&Message::new("failed").with("error", format!("{error:#}")))?;
            return Err(error.context("set-up failed"));
        }
    };
    send(&Message::new("ready").with("pid", std::process::id()))?;
    let function = short_name(std::any::type_name::<F>());
    for line in messages {
        let message = Message::decode(&line).context("expected a task")?;
        let id = message.get("id").unwrap_or_default();
        let text = message.get("input").unwrap_or_default();
        let started = Instant::now();
        let outcome = F::Input::decode(text).and_then(|input| {
            catch_unwind(AssertUnwindSafe(|| task.call(input.borrow(), &context))).unwrap_or_else(
                |panic| {
                    let name = current_process_name();
                    let panic = panic_text(&*panic);
                    Err(anyhow!("{name} panicked while running {function}({text}): {panic}"))
                },
            )
        });
        // What the task printed reaches the terminal before the pool hears that it is done.
        std::io::stdout().flush()?;
        let reply = match outcome {
            Ok(output) => Message::new("done").with("id", id).with("ok", output.encode()),
            Err(error) => Message::new("done").with("id", id).with("error", format!("{error:#}")),
        };
        send(&reply.with("took", started.elapsed().as_nanos()))?;
    }
    Ok(())
}

/// Writes one reply on the worker's stderr, in one piece.
fn send(message: &Message) -> std::io::Result<()> {
    let line = format!("{MARK}{}\n", message.encode());
    std::io::stderr().lock().write_all(line.as_bytes())
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "(no message)"
    }
}

/// A pool of worker processes, as Python's `ProcessPoolExecutor`. Dropping it shuts it down: every
/// worker sees the end of its input and exits, and the pool waits for them, as the end of Python's
/// `with ProcessPoolExecutor() as executor:` block does.
pub struct ProcessPool {
    inner: Mutex<Inner>,
    startup: Duration,
}

struct Inner {
    workers: Vec<Worker>,
    events: Receiver<Event>,
    trace: bool,
}

struct Worker {
    name: String,
    pid: u32,
    child: Child,
    /// The pool's end of the worker's stdin; `None` once the worker is dead or shut down.
    stdin: Option<ChildStdin>,
    /// The task it runs now.
    busy: Option<usize>,
    /// When it was sent its current task.
    since: Instant,
}

/// What the reader threads tell the pool: a worker's reply, or the end of its replies (it died).
enum Event {
    Reply(usize, Message),
    Closed(usize),
}

impl ProcessPool {
    /// Starts `workers` worker processes for tasks without set-up, as `ProcessPoolExecutor()`.
    /// `main` must call [`serve_if_worker`] first.
    pub fn new(workers: usize) -> anyhow::Result<ProcessPool> {
        ProcessPool::with_initializer(workers, no_set_up, &())
    }

    /// Starts `workers` worker processes, each of which calls `init(initargs)` once, as
    /// `ProcessPoolExecutor(initializer=init, initargs=...)`. `main` must call
    /// [`serve_if_worker_with`] with the same `init` first. Fails if a worker cannot start or its
    /// set-up fails (Python's pool would be broken), with that worker's name and error.
    pub fn with_initializer<G, I, C>(workers: usize, init: G, initargs: &I) -> anyhow::Result<Self>
    where
        G: Fn(I) -> anyhow::Result<C> + 'static,
        I: Wire<Owned = I>,
    {
        let _ = init; // As in `map`: only its type matters.
        let served = SERVED.get().context(
            "main must call shared::pool::serve_if_worker first, or no worker can serve a task",
        )?;
        if served.init != TypeId::of::<G>() {
            bail!("the pool's initializer is not the one main passed to serve_if_worker_with");
        }
        let program = std::env::current_exe().context("cannot find this program to run workers")?;
        ProcessPool::start(&program, workers, initargs.encode())
    }

    /// Starts `workers` workers of another `program`, one whose `main` begins with
    /// [`serve_if_worker`] or [`serve_if_worker_with`], sending each `initargs` (encoded). This is
    /// how [`measure_startup`] times another binary's pool; examples use [`ProcessPool::new`].
    pub fn start(program: &Path, workers: usize, initargs: String) -> anyhow::Result<ProcessPool> {
        if workers == 0 {
            bail!("a process pool needs at least one worker");
        }
        let (sender, events) = mpsc::channel();
        let trace = std::env::var_os(TRACE_VAR).is_some_and(|value| !value.is_empty());
        let inner = Inner { workers: Vec::new(), events, trace };
        let mut pool = ProcessPool { inner: Mutex::new(inner), startup: Duration::ZERO };
        let inner = pool.inner.get_mut().expect("a fresh lock is not poisoned");
        let start_time = Instant::now();
        let init = Message::new("init").with("args", initargs);
        for index in 0..workers {
            let worker = Worker::spawn(program, index, &init, &sender)?;
            inner.workers.push(worker);
        }
        inner.wait_until_ready(start_time)?;
        let startup = start_time.elapsed();
        if inner.trace {
            let per_worker = Millis(startup / workers as u32);
            eprintln!(
                "pool: {workers} workers ready in {}, {per_worker} per worker",
                Millis(startup)
            );
        }
        pool.startup = startup;
        Ok(pool)
    }

    /// Runs `task` on every item, one task at a time on whichever worker is free, as Python's
    /// `executor.map(task, items)`, and returns the results in the order of `items`. A task that
    /// failed, panicked or lost its worker gives an `Err` that says so; the others still run.
    ///
    /// # Panics
    /// If `task` is not the function `main` passed to the worker entry point (a bug: the workers
    /// cannot run it).
    pub fn map<A, F, X>(&self, task: F, items: &[X]) -> Vec<anyhow::Result<F::Output>>
    where
        F: Task<A>,
        X: Borrow<F::Input>,
    {
        let _ = task; // Only its type matters: each worker runs its own copy of the function.
        let served = SERVED.get().map(|served| served.task);
        assert!(
            served == Some(TypeId::of::<F>()),
            "ProcessPool::map: the workers serve the function given to serve_if_worker, not {}",
            std::any::type_name::<F>(),
        );
        let function = short_name(std::any::type_name::<F>());
        let inputs: Vec<String> = items.iter().map(|item| item.borrow().encode()).collect();
        let results = self.lock().run(&inputs, function);
        results.into_iter().map(|result| result.and_then(|text| F::Output::decode(&text))).collect()
    }

    /// How many workers the pool started with.
    pub fn workers(&self) -> usize {
        self.lock().workers.len()
    }

    /// The process ids of the workers still alive, in the order of their names.
    pub fn pids(&self) -> Vec<u32> {
        let inner = self.lock();
        inner.workers.iter().filter(|worker| worker.stdin.is_some()).map(|w| w.pid).collect()
    }

    /// How long the pool took to start: from the first spawn until every worker had finished its
    /// set-up and said it was ready.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("the pool's lock is poisoned only by a bug")
    }
}

/// Times the start-up of a pool of `workers` workers of `program` (a binary whose workers take no
/// set-up arguments, such as cpu_processes), then shuts it down. For the compare command.
pub fn measure_startup(program: &Path, workers: usize) -> anyhow::Result<Duration> {
    let pool = ProcessPool::start(program, workers, ().encode())?;
    Ok(pool.startup_time())
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        let inner = match self.inner.get_mut() {
            Ok(inner) => inner,
            Err(poisoned) => poisoned.into_inner(),
        };
        for worker in &mut inner.workers {
            worker.stdin = None;
        }
        for worker in &mut inner.workers {
            worker.reap();
        }
    }
}

impl Worker {
    fn spawn(
        program: &Path,
        index: usize,
        init: &Message,
        events: &Sender<Event>,
    ) -> anyhow::Result<Worker> {
        let name = format!("Process-{}", index + 1);
        let mut child = Command::new(program)
            .arg(WORKER_FLAG)
            .arg(&name)
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", program.display()))?;
        let pid = child.id();
        let replies = child.stderr.take().expect("stderr is piped");
        let events = events.clone();
        let reader = thread::Builder::new().name(format!("{name}-replies"));
        let stdin = child.stdin.take();
        let mut worker = Worker { name, pid, stdin, child, busy: None, since: Instant::now() };
        if let Err(error) = reader.spawn(move || read_replies(index, replies, events)) {
            worker.stdin = None;
            worker.reap();
            return Err(error.into());
        }
        if worker.write(init).is_err() {
            worker.stdin = None;
        }
        Ok(worker)
    }

    /// Sends one message; an error means the worker is gone.
    fn write(&mut self, message: &Message) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or(std::io::ErrorKind::BrokenPipe)?;
        stdin.write_all(format!("{}\n", message.encode()).as_bytes())
    }

    /// After the worker's end of replies closed: waits for it to exit and describes how it did. A
    /// worker that died of SIGPIPE found the stdout it shares with this process closed (`| head`):
    /// there is nowhere left to print, so this process ends as quietly, and its other workers see
    /// end of input and exit.
    fn closed(&mut self) -> String {
        self.stdin = None;
        let status = self.reap();
        if killed_by_sigpipe(status) {
            std::process::exit(128 + 13);
        }
        describe(status)
    }

    /// Waits for the worker to exit, killing it if it does not within [`EXIT_TIMEOUT`].
    fn reap(&mut self) -> Option<ExitStatus> {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
                Ok(None) => {
                    let _ = self.child.kill();
                    return self.child.wait().ok();
                }
                Err(_) => return None,
            }
        }
    }
}

impl Inner {
    fn wait_until_ready(&mut self, start_time: Instant) -> anyhow::Result<()> {
        let mut waiting = self.workers.len();
        while waiting > 0 {
            let deadline = (start_time + START_TIMEOUT).saturating_duration_since(Instant::now());
            let event = match self.events.recv_timeout(deadline) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => bail!("the pool's workers did not start in time"),
                Err(RecvTimeoutError::Disconnected) => bail!("the pool's workers all vanished"),
            };
            match event {
                Event::Reply(index, message) if message.kind == "ready" => {
                    waiting -= 1;
                    if self.trace {
                        let worker = &self.workers[index];
                        let after = Millis(start_time.elapsed());
                        eprintln!("pool: {} pid={} ready after {after}", worker.name, worker.pid);
                    }
                }
                Event::Reply(index, message) if message.kind == "failed" => {
                    let error = message.get("error").unwrap_or_default();
                    bail!("{} could not set up: {error}", self.workers[index].name);
                }
                Event::Reply(..) => {}
                Event::Closed(index) => {
                    let worker = &mut self.workers[index];
                    let status = worker.closed();
                    bail!("{} exited while starting ({status})", worker.name);
                }
            }
        }
        Ok(())
    }

    /// Runs every input through the workers; `Ok` holds a task's encoded output.
    fn run(&mut self, inputs: &[String], function: &str) -> Vec<anyhow::Result<String>> {
        let mut results: Vec<Option<anyhow::Result<String>>> =
            inputs.iter().map(|_| None).collect();
        let mut next = 0;
        for index in 0..self.workers.len() {
            self.dispatch(index, inputs, &mut next);
        }
        while self.workers.iter().any(|worker| worker.busy.is_some()) {
            let Ok(event) = self.events.recv() else { break };
            match event {
                Event::Reply(index, message) if message.kind == "done" => {
                    let received = Instant::now();
                    let worker = &mut self.workers[index];
                    let id = message.get("id").and_then(|id| id.parse().ok());
                    if id.is_none() || worker.busy != id {
                        continue;
                    }
                    let task = worker.busy.take().expect("checked above");
                    let result = match (message.get("ok"), message.get("error")) {
                        (Some(output), None) => Ok(output.to_string()),
                        (_, error) => Err(anyhow!("{}", error.unwrap_or("no result"))),
                    };
                    if timeline::enabled() {
                        let took = message.get("took").and_then(|took| took.parse().ok());
                        let took = Duration::from_nanos(took.unwrap_or_default());
                        let start =
                            received.checked_sub(took).unwrap_or(received).max(worker.since);
                        let label = timeline_label(function, &inputs[task]);
                        timeline::record(&worker.name, label, start, received, &result);
                    }
                    if self.trace {
                        let outcome = match &result {
                            Ok(output) => format!("ok {output}"),
                            Err(error) => format!("error {error}"),
                        };
                        eprintln!(
                            "pool: {} pid={} done task {task}: {outcome}",
                            worker.name, worker.pid
                        );
                    }
                    results[task] = Some(result);
                    self.dispatch(index, inputs, &mut next);
                }
                Event::Reply(..) => {}
                Event::Closed(index) => {
                    let worker = &mut self.workers[index];
                    let status = worker.closed();
                    if self.trace {
                        eprintln!("pool: {} pid={} exited: {status}", worker.name, worker.pid);
                    }
                    if let Some(task) = worker.busy.take() {
                        let name = &worker.name;
                        let input = &inputs[task];
                        let label = timeline_label(function, input);
                        timeline::record(name, label, worker.since, Instant::now(), false);
                        let error =
                            anyhow!("{name} died while running {function}({input}) ({status})");
                        results[task] = Some(Err(error));
                    }
                }
            }
        }
        let inputs_left = inputs.iter().zip(&mut results).filter(|(_, result)| result.is_none());
        for (input, result) in inputs_left {
            *result = Some(Err(anyhow!("no worker process was left to run {function}({input})")));
        }
        results.into_iter().map(|result| result.expect("every task has a result")).collect()
    }

    /// Gives worker `index` the next task, if it is alive and free and a task is left.
    fn dispatch(&mut self, index: usize, inputs: &[String], next: &mut usize) {
        let worker = &mut self.workers[index];
        if worker.stdin.is_none() || worker.busy.is_some() || *next >= inputs.len() {
            return;
        }
        let task = Message::new("task").with("id", *next).with("input", &inputs[*next]);
        if worker.write(&task).is_err() {
            // The worker is dying; its end of replies will come, and the task goes to another.
            worker.stdin = None;
            return;
        }
        if self.trace {
            let input = &inputs[*next];
            eprintln!("pool: {} pid={} runs task {next}: {input}", worker.name, worker.pid);
        }
        worker.busy = Some(*next);
        worker.since = Instant::now();
        *next += 1;
    }
}

/// Reads one worker's stderr: replies go to the pool, any other text to our stderr.
fn read_replies(index: usize, replies: impl std::io::Read, events: Sender<Event>) {
    let mut replies = BufReader::new(replies);
    let mut line = Vec::new();
    loop {
        line.clear();
        match replies.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let reply = text.find(MARK).and_then(|at| {
            let message = Message::decode(text[at + MARK.len()..].trim_end_matches(['\n', '\r']))?;
            Some((&text[..at], message))
        });
        match reply {
            Some((before, message)) => {
                eprint!("{before}");
                let _ = events.send(Event::Reply(index, message));
            }
            None => eprint!("{text}"),
        }
    }
    let _ = events.send(Event::Closed(index));
}

/// One line of the pool's protocol: a kind and named fields, such as `done id=3 ok=10966 took=41`.
/// Readers ignore fields they do not know, so a field can be added without touching anything else:
/// that is how a task's duration came back with its result for the timeline, the worker adding
/// `.with("took", ...)` to its `done` reply and the pool reading `message.get("took")`.
#[derive(Clone, Debug, PartialEq)]
struct Message {
    kind: String,
    fields: Vec<(String, String)>,
}

impl Message {
    fn new(kind: &str) -> Message {
        Message { kind: kind.to_string(), fields: Vec::new() }
    }

    fn with(mut self, key: &str, value: impl ToString) -> Message {
        self.fields.push((key.to_string(), value.to_string()));
        self
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }

    /// `kind key=value ...` on one line, with `\`, spaces and line breaks in values escaped.
    fn encode(&self) -> String {
        let mut line = self.kind.clone();
        for (key, value) in &self.fields {
            line.push(' ');
            line.push_str(key);
            line.push('=');
            for c in value.chars() {
                match c {
                    '\\' => line.push_str("\\\\"),
                    ' ' => line.push_str("\\s"),
                    '\n' => line.push_str("\\n"),
                    '\r' => line.push_str("\\r"),
                    '\t' => line.push_str("\\t"),
                    c => line.push(c),
                }
            }
        }
        line
    }

    fn decode(line: &str) -> Option<Message> {
        let mut parts = line.split(' ');
        let mut message = Message::new(parts.next().filter(|kind| !kind.is_empty())?);
        for part in parts {
            let (key, value) = part.split_once('=')?;
            let mut text = String::with_capacity(value.len());
            let mut chars = value.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    text.push(c);
                    continue;
                }
                text.push(match chars.next()? {
                    's' => ' ',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    other => other,
                });
            }
            message.fields.push((key.to_string(), text));
        }
        Some(message)
    }
}

/// What a task is called on a timeline: a download by its URL, so that its site chooses the colour,
/// anything else by its function's name (`fib`).
fn timeline_label<'a>(function: &'a str, input: &'a str) -> &'a str {
    if input.starts_with("http://") || input.starts_with("https://") { input } else { function }
}

/// `io_processes::download_site` -> `download_site`.
fn short_name(type_name: &str) -> &str {
    type_name.rsplit("::").next().unwrap_or(type_name)
}

/// Whether a worker died of SIGPIPE (signal 13): it wrote to a stdout that nobody reads any more.
#[cfg(unix)]
fn killed_by_sigpipe(status: Option<ExitStatus>) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.and_then(|status| status.signal()) == Some(13)
}

#[cfg(not(unix))]
fn killed_by_sigpipe(_: Option<ExitStatus>) -> bool {
    false
}

fn describe(status: Option<ExitStatus>) -> String {
    status.map_or_else(|| "exit status unknown".to_string(), |status| status.to_string())
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
    fn messages_survive_spaces_and_line_breaks() {
        let message = Message::new("done").with("id", 3).with("error", "a b\\c\nd\te\r");
        let line = message.encode();
        assert!(!line.contains('\n'));
        assert_eq!(Message::decode(&line), Some(message));
    }

    #[test]
    fn readers_ignore_fields_they_do_not_know() {
        let message = Message::decode("done id=3 ok=10966 started=17 ended=42").unwrap();
        assert_eq!(message.get("ok"), Some("10966"));
        assert_eq!(message.get("started"), Some("17"));
        assert_eq!(message.get("missing"), None);
    }

    #[test]
    fn values_cross_the_wire() {
        assert_eq!(u64::decode(&9_227_465_u64.encode()).unwrap(), 9_227_465);
        assert_eq!(str::decode("https://www.jython.org").unwrap(), "https://www.jython.org");
        assert!(u32::decode("x").is_err());
        #[cfg(feature = "io")]
        {
            let settings = ClientSettings {
                timeout: Duration::from_millis(1500),
                on_this_machine: true,
                max_page: 1 << 20,
            };
            assert_eq!(ClientSettings::decode(&settings.encode()).unwrap(), settings);
        }
    }

    #[test]
    fn names_look_like_python_ones() {
        assert_eq!(current_process_name(), "MainProcess");
        assert_eq!(short_name("io_processes::download_site"), "download_site");
    }

    #[test]
    fn a_timeline_labels_downloads_by_url_and_other_tasks_by_function() {
        assert_eq!(
            timeline_label("download_site", "http://127.0.0.1:9/dice"),
            "http://127.0.0.1:9/dice"
        );
        assert_eq!(timeline_label("fib", "35"), "fib");
    }

    #[test]
    fn a_pool_needs_the_entry_point() {
        // The test binary never called serve_if_worker, so no worker could serve.
        let error = ProcessPool::new(1).err().expect("no entry point, no pool");
        assert!(error.to_string().contains("serve_if_worker"), "{error}");
    }
}
