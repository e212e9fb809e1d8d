//! `--timeline FILE.svg`: the tutorial's timing diagrams, drawn from the run the reader just made.
//!
//! Every example wraps its work in one call ([`task`], [`task_async`]; a process pool calls
//! [`record`] for its workers), and the summary line ([`crate::report_downloads`],
//! [`crate::report_computed`]) writes the picture ([`finish`]): one lane per worker, one bar per
//! task from its start to its end, coloured by what it is, on a time axis in seconds. A bar's hover
//! text says what the task returned when that is a number: `fib(35) = 9227465`.
//!
//! Without `--timeline` nothing is recorded: the global timeline stays empty and [`task`] only calls
//! its closure (one atomic load more). The picture is a small hand-written SVG (`svg.rs`): a few
//! rectangles and lines, self-contained and deterministic, where a plotting crate would bring
//! system libraries (plotters) or an API larger than the drawing (svg).

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, ready};
use std::thread::{self, Thread, ThreadId};
use std::time::{Duration, Instant};

mod svg;
#[cfg(test)]
mod tests;

use svg::{Bar, Worker};

/// The run's timeline, set once at start-up when `--timeline` is given, else left empty.
static TIMELINE: OnceLock<Timeline> = OnceLock::new();

/// What the tasks of a run are, for the title: `160 downloads`, `20 calls of fib(35)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Downloads of web pages, coloured by site.
    Downloads,
    /// Calls of `fib(n)`.
    Fib(u32),
}

/// What the title says besides the counts: the crate and its kind of work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heading {
    /// The crate that ran: `io_threads`.
    pub example: String,
    /// What its tasks are.
    pub work: Work,
}

/// Whatever a task returns, seen by the timeline: whether it succeeded, and what to show of it. A
/// `Result` failed when it is an `Err`, a `bool` (such as [`crate::succeeded`]'s) when it is
/// `false`; a number (`fib`'s) always succeeded and is shown in its bar's hover text, and so is a
/// `Result`'s `Ok` value when it has one to show. A process pool's results come back as text: a
/// non-empty `String` is shown as it is.
pub trait Outcome {
    /// Whether the task succeeded.
    fn succeeded(&self) -> bool;
    /// What its bar's hover text shows as its value (`9227465`), if anything.
    fn value(&self) -> Option<String> {
        None
    }
}

impl<T: Outcome, E> Outcome for Result<T, E> {
    fn succeeded(&self) -> bool {
        self.is_ok()
    }
    fn value(&self) -> Option<String> {
        self.as_ref().ok().and_then(Outcome::value)
    }
}

impl<T: Outcome + ?Sized> Outcome for &T {
    fn succeeded(&self) -> bool {
        (**self).succeeded()
    }
    fn value(&self) -> Option<String> {
        (**self).value()
    }
}

impl Outcome for bool {
    fn succeeded(&self) -> bool {
        *self
    }
}

impl Outcome for () {
    fn succeeded(&self) -> bool {
        true
    }
}

impl Outcome for str {
    fn succeeded(&self) -> bool {
        true
    }
    fn value(&self) -> Option<String> {
        (!self.is_empty()).then(|| self.to_string())
    }
}

impl Outcome for String {
    fn succeeded(&self) -> bool {
        true
    }
    fn value(&self) -> Option<String> {
        self.as_str().value()
    }
}

macro_rules! shown_numbers {
    ($($t:ty),*) => {$(
        impl Outcome for $t {
            fn succeeded(&self) -> bool {
                true
            }
            fn value(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
shown_numbers!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

/// Turns recording on for this run: from now on [`task`], [`task_async`] and [`record`] record into
/// `timeline`, and the summary line writes it. Returns false (and changes nothing) if a timeline was
/// already set. Start-up (`startup.rs`) calls this for `--timeline`.
pub fn enable(timeline: Timeline) -> bool {
    TIMELINE.set(timeline).is_ok()
}

/// Whether this run records a timeline (`--timeline` was given). A process pool can skip timing its
/// tasks when it is false.
pub fn enabled() -> bool {
    TIMELINE.get().is_some()
}

/// Runs one task and, with `--timeline`, records it as a bar on the lane of the thread that ran it,
/// labelled `label` (the URL, or `fib`). Returns what the task returned; whether it failed, and the
/// value its bar shows, come from its [`Outcome`]. Without `--timeline` it only calls `work`.
///
/// `shared::timeline::task("fib", || fib(black_box(args.n)))`
pub fn task<T: Outcome>(label: &str, work: impl FnOnce() -> T) -> T {
    match TIMELINE.get() {
        None => work(),
        Some(timeline) => timeline.task(label, work),
    }
}

/// [`task`] for a future: the bar starts when the future is first polled and ends when it is ready,
/// on the lane of the thread that first polled it. Overlapping bars of one thread (io_async's) are
/// stacked when drawn.
///
/// A plain function, not an `async fn`: the [`Task`] it returns holds `future` itself and a few
/// words beside it, where an `async fn` would store the future once as its argument and again in
/// each of its two `.await`s. io_async keeps `--limit` of them at once.
pub fn task_async<'a, F: Future>(label: &'a str, future: F) -> Task<'a, F> {
    Task::new(TIMELINE.get(), label, future)
}

/// With `--timeline`, records a task that ran elsewhere, on the lane named `worker` (`Process-2`),
/// between `start` and `end` on this process's clock; `outcome` is what it returned, as in
/// [`task`] (`false` when it never returned: the worker died). A process pool calls it when a
/// result comes back: the worker measures how long its task took and sends that with the result,
/// and the parent records `record(name, label, received - took, received, &result)`. Does nothing
/// without `--timeline`.
pub fn record(worker: &str, label: &str, start: Instant, end: Instant, outcome: impl Outcome) {
    if let Some(timeline) = TIMELINE.get() {
        timeline.record(worker, label, start, end, outcome);
    }
}

/// Called by the summary line at the end of every run: with `--timeline`, writes the picture of a
/// run that took `duration` (its start is taken as `duration` before now, the `start_time` of the
/// example) and says so on stderr. Returns false, after one stderr line saying why, if the file could
/// not be written; true otherwise, and when there is no timeline.
pub fn finish(duration: Duration) -> bool {
    let Some(timeline) = TIMELINE.get() else { return true };
    let shown = |path: &std::path::Path| crate::output::escaped(&path.display().to_string());
    let now = Instant::now();
    let origin = now.checked_sub(duration).unwrap_or(now);
    match timeline.save(origin, duration) {
        Ok(summary) => {
            crate::output::warn(format_args!(
                "Wrote the timeline of {summary} to {}",
                shown(&timeline.path)
            ));
            true
        }
        Err(error) => {
            crate::output::warn(format_args!(
                "Could not write the timeline to {}: {error}",
                shown(&timeline.path)
            ));
            false
        }
    }
}

/// The tasks of one run as they happen, and the file they will be drawn into. A run has one,
/// global, behind [`enable`], which the free functions record into; a program (or a test) can also
/// keep its own and record into it with the methods of the same names.
pub struct Timeline {
    path: PathBuf,
    heading: Heading,
    recorded: Mutex<Recorded>,
    /// This machine's CPU cores, for the caption of a computation on more workers than cores.
    cores: Option<usize>,
}

#[derive(Default)]
struct Recorded {
    spans: Vec<Span>,
    thread_names: HashMap<ThreadId, Option<String>>,
}

/// One recorded task, on this process's clock.
struct Span {
    lane: Lane,
    label: String,
    start: Instant,
    end: Instant,
    ok: bool,
    value: Option<String>,
}

enum Lane {
    Thread(ThreadId),
    Named(String),
}

impl Timeline {
    /// An empty timeline that [`Timeline::save`] will write to `path`.
    pub fn new(path: impl Into<PathBuf>, heading: Heading) -> Timeline {
        let cores = thread::available_parallelism().ok().map(|cores| cores.get());
        Timeline { path: path.into(), heading, recorded: Mutex::default(), cores }
    }

    /// [`task`], recording into this timeline.
    pub fn task<T: Outcome>(&self, label: &str, work: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let output = work();
        let thread = thread::current();
        self.push(Span::new(Lane::Thread(thread.id()), label, start, &output), Some(&thread));
        output
    }

    /// [`task_async`], recording into this timeline.
    pub fn task_async<'a, F: Future>(&'a self, label: &'a str, future: F) -> Task<'a, F> {
        Task::new(Some(self), label, future)
    }

    /// [`record`], into this timeline.
    pub fn record(
        &self,
        worker: &str,
        label: &str,
        start: Instant,
        end: Instant,
        outcome: impl Outcome,
    ) {
        let mut span = Span::new(Lane::Named(worker.to_string()), label, start, &outcome);
        span.end = end.max(start);
        self.push(span, None);
    }

    fn push(&self, span: Span, thread: Option<&Thread>) {
        let mut recorded = self.recorded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(thread) = thread {
            recorded
                .thread_names
                .entry(thread.id())
                .or_insert_with(|| thread.name().map(Into::into));
        }
        recorded.spans.push(span);
    }

    /// Draws the run that started at `origin` and took `duration` into the file. Returns what it
    /// drew (`160 downloads on 5 threads`).
    pub fn save(&self, origin: Instant, duration: Duration) -> io::Result<String> {
        let bars = self.bars(origin);
        std::fs::write(&self.path, svg::draw(&self.heading, &bars, duration, self.cores))?;
        Ok(svg::summary(&bars, self.heading.work))
    }

    /// The recorded tasks as bars, in seconds since `origin` (a task that started earlier starts
    /// at 0). Thread lanes are named by the thread's name (`main thread`) or, for unnamed threads, by
    /// the order in which they started their first task: `thread 1`, `thread 2`, ...
    fn bars(&self, origin: Instant) -> Vec<Bar> {
        let recorded = self.recorded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Threads in the order they started their first task, with their names if they have one.
        let mut first_start: HashMap<ThreadId, Instant> = HashMap::new();
        for span in &recorded.spans {
            if let Lane::Thread(id) = span.lane {
                let start = first_start.entry(id).or_insert(span.start);
                *start = (*start).min(span.start);
            }
        }
        let mut threads: Vec<(Instant, ThreadId, String)> = first_start
            .into_iter()
            .map(|(id, start)| (start, id, recorded.thread_names[&id].clone().unwrap_or_default()))
            .collect();
        threads.sort_by_key(|&(start, _, _)| start);
        // Unnamed threads are numbered, and so are threads that share a name (tokio's workers).
        let mut numbers: HashMap<&str, usize> = HashMap::new();
        let names: HashMap<ThreadId, String> = threads
            .iter()
            .map(|(_, id, name)| {
                let shared = threads.iter().filter(|(_, _, other)| other == name).count() > 1;
                let number = numbers.entry(name).or_default();
                *number += 1;
                let shown = match name.as_str() {
                    "" => format!("thread {number}"),
                    "main" => "main thread".to_string(),
                    _ if shared => format!("{name} {number}"),
                    _ => name.clone(),
                };
                (*id, shown)
            })
            .collect();
        let since = |instant: Instant| instant.saturating_duration_since(origin);
        recorded
            .spans
            .iter()
            .map(|span| Bar {
                worker: match &span.lane {
                    Lane::Thread(id) => Worker::Thread(names[id].clone()),
                    Lane::Named(name) => Worker::Named(name.clone()),
                },
                label: span.label.clone(),
                start: since(span.start),
                end: since(span.end),
                ok: span.ok,
                value: span.value.clone(),
            })
            .collect()
    }
}

impl Span {
    /// A task on `lane` that started at `start`, ends now and returned `outcome`.
    fn new(lane: Lane, label: &str, start: Instant, outcome: &impl Outcome) -> Span {
        let (ok, value) = (outcome.succeeded(), outcome.value());
        Span { lane, label: label.to_string(), start, end: Instant::now(), ok, value }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`task_async`]: the task's own future and, when a timeline records it, where
    /// and when it was first polled. Its output is the task's.
    pub struct Task<'a, F> {
        #[pin]
        future: F,
        recording: Option<Recording<'a>>,
    }
}

/// What [`Task`] needs to record its bar.
struct Recording<'a> {
    timeline: &'a Timeline,
    label: &'a str,
    /// The thread and the time of the first poll.
    started: Option<(Thread, Instant)>,
}

impl<'a, F> Task<'a, F> {
    fn new(timeline: Option<&'a Timeline>, label: &'a str, future: F) -> Task<'a, F> {
        let recording = timeline.map(|timeline| Recording { timeline, label, started: None });
        Task { future, recording }
    }
}

impl<F: Future<Output: Outcome>> Future for Task<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(recording) = this.recording else { return this.future.poll(cx) };
        let (thread, start) =
            recording.started.get_or_insert_with(|| (thread::current(), Instant::now()));
        let output = ready!(this.future.poll(cx));
        let span = Span::new(Lane::Thread(thread.id()), recording.label, *start, &output);
        recording.timeline.push(span, Some(thread));
        Poll::Ready(output)
    }
}
