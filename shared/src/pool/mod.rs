//! A pool of worker processes that reads like Python's `concurrent.futures.ProcessPoolExecutor`.
//!
//! Python's standard library starts worker processes, pickles a function's name and its arguments
//! to them and collects the results. Rust's has no such pool, so this one re-runs the program itself
//! (`std::env::current_exe()`) once per worker with a marker argument, as Python's `spawn` start
//! method does with `--multiprocessing-fork`. The worker's `main` calls [`serve_if_worker`] (or
//! [`serve_if_worker_with`]) first: in a worker that call serves tasks and exits, in the parent it
//! returns at once. The marker is not an option of the example, so `--help` never shows it.
//!
//! How the pool and a worker talk: typed messages, one line of JSON each (serde, where Python
//! pickles; `message.rs`). Inputs, outputs and set-up arguments are any serde types.
//! - the worker's **stdin** carries the pool's messages: the set-up arguments, then the tasks, two
//!   at a time at most (the one it runs and the next), so that it never waits between tasks. Task
//!   data never goes through a command line or a shell.
//! - the worker's **stdout** carries what its tasks print, in whole lines, and after that its
//!   replies, each behind a marker. The pool passes the text on to its own stdout, so a task's lines
//!   come out before the pool hears that the task is done, and a closed stdout (`| head`) ends the
//!   pool quietly, as it ends `cat`, while the workers see the end of their input and exit.
//! - the worker's **stderr** is the parent's (a panic message goes straight there).
//!
//! Faults. A task that returns an error or panics fails alone, and its worker goes on. A worker that
//! dies (killed by any signal, aborted, exited) fails the task it was running, with its name and
//! that task in the error; the task it held next had not started, and goes to another worker. The
//! pool goes on with the workers it has left, and once none is left every remaining task fails. A
//! task is never run twice: a task that killed one worker would likely kill the next, and a
//! download or a payment is not safe to repeat. Python's pool is harsher: one dead worker breaks it
//! (`BrokenProcessPool`) and every pending task fails. A dead worker never kills the pool: the pool
//! holds a reader of each worker's stdin, so writing to it cannot raise SIGPIPE.
//!
//! No orphans. A thread in each worker owns its stdin and ends the whole process at end of input,
//! even in the middle of a task. End of input comes when the pool is dropped, and also when the
//! parent dies in any way, `kill -9` included, because the kernel then closes the parent's end of
//! every pipe.
//!
//! Tracing. With `PROCESS_POOL_TRACE=1` in its environment, the parent writes to stderr a line per
//! event (`pool: Process-2 pid=4242 runs task 7: 35`, inputs and outputs in JSON), which the tests
//! read to find busy workers.
//!
//! Timeline. A worker times each task and sends how long it took with the result; the pool records
//! the task on the worker's lane, ending when the result arrived ([`crate::timeline::record`],
//! which does nothing without `--timeline`). A text input labels its bar (a URL), any other the
//! function's name. So the examples need no line of their own.

mod message;
mod parent;
mod worker;

use std::any::TypeId;
use std::borrow::Borrow;
use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use parent::Workers;

/// The argument that turns the program into a worker: `program --process-pool-worker Process-3`.
pub const WORKER_FLAG: &str = "--process-pool-worker";

/// The environment variable that makes the parent trace the pool's events on stderr.
pub const TRACE_VAR: &str = "PROCESS_POOL_TRACE";

/// A function a worker can run for the pool. Two shapes implement it:
/// - `fn(T) -> R`, such as `fib(n: u32) -> u64`: no set-up, cannot fail;
/// - `fn(&T, &C) -> anyhow::Result<R>`, such as `download_site(url: &str, client: &Client)`: `C` is
///   what the worker's set-up function (Python's `initializer`) made, once per worker.
///
/// `Shape` only tells the two apart; the compiler infers it.
pub trait Task<Shape>: Copy + 'static {
    /// What each task is given (sent to the worker, which reads it back as its owned form: a
    /// `String` for a `str`).
    type Input: Serialize + ToOwned<Owned: DeserializeOwned> + ?Sized;
    /// What the worker's set-up made.
    type Context;
    /// What each task gives back (sent back to the pool).
    type Output: Serialize + DeserializeOwned;
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
    T: Serialize + DeserializeOwned + Clone,
    R: Serialize + DeserializeOwned,
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
    T: Serialize + ToOwned<Owned: DeserializeOwned> + ?Sized,
    R: Serialize + DeserializeOwned,
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
    I: DeserializeOwned,
    F: Task<A, Context = C>,
{
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(WORKER_FLAG)) {
        let _ = SERVED.set(Served { init: TypeId::of::<G>(), task: TypeId::of::<F>() });
        return;
    }
    let name = args.next().and_then(|name| name.into_string().ok()).unwrap_or_default();
    let _ = PROCESS_NAME.set(name);
    sigpipe::reset(); // the pool gone, a write to it ends the worker quietly
    let status = match worker::serve(init, task) {
        Ok(()) => 0,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "{}: {error:#}", current_process_name());
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

/// A pool of worker processes, as Python's `ProcessPoolExecutor`. Dropping it shuts it down: every
/// worker sees the end of its input and exits, and the pool waits for them, as the end of Python's
/// `with ProcessPoolExecutor() as executor:` block does.
pub struct ProcessPool {
    workers: Mutex<Workers>,
    startup: Duration,
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
        I: Serialize + DeserializeOwned,
    {
        let _ = init; // As in `map`: only its type matters.
        let served = SERVED.get().context(
            "main must call shared::pool::serve_if_worker first, or no worker can serve a task",
        )?;
        if served.init != TypeId::of::<G>() {
            bail!("the pool's initializer is not the one main passed to serve_if_worker_with");
        }
        let program = std::env::current_exe().context("cannot find this program to run workers")?;
        ProcessPool::start(&program, workers, serde_json::to_value(initargs)?)
    }

    /// Starts `workers` workers of `program`, one whose `main` begins with the worker entry point.
    fn start(program: &Path, workers: usize, initargs: Value) -> anyhow::Result<ProcessPool> {
        let (workers, startup) = Workers::start(program, workers, initargs)?;
        Ok(ProcessPool { workers: Mutex::new(workers), startup })
    }

    /// Runs `task` on every item, on whichever worker is free, as Python's
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
        let inputs = items.iter().map(|item| Ok(serde_json::to_value(item.borrow())?)).collect();
        let outputs = self.lock().run(inputs, function);
        outputs.into_iter().map(|output| Ok(serde_json::from_value(output?)?)).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Workers> {
        self.workers.lock().expect("the pool's lock is poisoned only by a bug")
    }
}

/// Times the start-up of a pool of `workers` workers of `program` (a binary whose workers take no
/// set-up arguments, such as cpu_processes): from the first spawn until every worker had finished
/// its set-up and said it was ready. Then shuts it down. For the compare command.
pub fn measure_startup(program: &Path, workers: usize) -> anyhow::Result<Duration> {
    Ok(ProcessPool::start(program, workers, Value::Null)?.startup)
}

/// `io_processes::download_site` -> `download_site`.
fn short_name(type_name: &str) -> &str {
    type_name.rsplit("::").next().unwrap_or(type_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_look_like_python_ones() {
        assert_eq!(current_process_name(), "MainProcess");
        assert_eq!(short_name("io_processes::download_site"), "download_site");
    }

    #[test]
    fn a_pool_needs_the_entry_point() {
        // The test binary never called serve_if_worker, so no worker could serve.
        let error = ProcessPool::new(1).err().expect("no entry point, no pool");
        assert!(error.to_string().contains("serve_if_worker"), "{error}");
    }

    #[cfg(feature = "io")]
    #[test]
    fn client_settings_cross_as_initargs() {
        let settings = crate::ClientSettings {
            timeout: Duration::from_millis(1500),
            on_this_machine: true,
            max_page: 1 << 20,
        };
        let value = serde_json::to_value(settings).unwrap();
        assert_eq!(serde_json::from_value::<crate::ClientSettings>(value).unwrap(), settings);
    }
}
