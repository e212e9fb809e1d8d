//! The worker's side: read the set-up message and run the set-up function once, then run each task
//! the pool sends, in order, and answer each, until the pool closes our stdin.

use std::borrow::Borrow;
use std::io::{BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::message::{FromWorker, MARK, ToWorker, line};
use super::{Task, current_process_name, short_name};

/// Serves tasks until the end of stdin, then exits the process.
pub(super) fn serve<G, I, C, A, F>(init: G, task: F) -> anyhow::Result<()>
where
    G: Fn(I) -> anyhow::Result<C>,
    I: DeserializeOwned,
    F: Task<A, Context = C>,
{
    let (sender, messages) = mpsc::channel();
    // This thread alone reads stdin. At end of input the pool is gone (shut down, or its process
    // died, even by kill -9), and the worker must not outlive it: exit now, even mid-task.
    thread::Builder::new()
        .name("pool-input".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
            std::process::exit(0)
        })
        .context("cannot start the thread that reads the pool's messages")?;
    let first = messages.recv()?;
    let Ok(ToWorker::Init { args }) = serde_json::from_str(&first) else {
        bail!("expected the set-up message, not {first:?}");
    };
    let context = I::deserialize(&args).map_err(anyhow::Error::from).and_then(init);
    let context = match context {
        Ok(context) => context,
        Err(error) => {
            send(&FromWorker::Failed { error: format!("{error:#}") })?;
            return Err(error.context("set-up failed"));
        }
    };
    send(&FromWorker::Ready { pid: std::process::id() })?;
    for line in messages {
        let Ok(ToWorker::Task { id, input }) = serde_json::from_str(&line) else {
            bail!("expected a task, not {line:?}");
        };
        let started = Instant::now();
        let outcome = run_one(task, &input, &context).map_err(|error| format!("{error:#}"));
        send(&FromWorker::Done { id, outcome, took: started.elapsed() })?;
    }
    Ok(())
}

/// Runs one task; a panic is caught and becomes its error, so that the worker goes on.
fn run_one<A, F: Task<A>>(task: F, input: &Value, context: &F::Context) -> anyhow::Result<Value> {
    let owned = <F::Input as ToOwned>::Owned::deserialize(input)
        .with_context(|| format!("cannot read the input {input}"))?;
    let output = catch_unwind(AssertUnwindSafe(|| task.call(owned.borrow(), context)));
    let output = output.unwrap_or_else(|panic| {
        let (name, function) = (current_process_name(), short_name(std::any::type_name::<F>()));
        let panic = panic_text(&*panic);
        Err(anyhow!("{name} panicked while running {function}({input}): {panic}"))
    })?;
    Ok(serde_json::to_value(output)?)
}

/// Writes one reply on stdout, after what the task printed there, and flushes both.
fn send(message: &FromWorker) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(MARK)?;
    stdout.write_all(line(message).as_bytes())?;
    stdout.flush()
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
