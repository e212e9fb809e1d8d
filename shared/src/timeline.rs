//! `--timeline FILE.svg`: the tutorial's timing diagrams, drawn from the run the reader just made.
//!
//! Every example wraps its work line in one call ([`task`], [`task_async`]; a process pool calls
//! [`record`] for its workers), and the summary line ([`crate::report_downloads`],
//! [`crate::report_computed`]) writes the picture: one lane per worker, one bar per task from its
//! start to its end, coloured by what it is, on a time axis in seconds.
//!
//! Without `--timeline` nothing is recorded: the global timeline stays empty and [`task`] only calls
//! its closure (one atomic load more). The picture is a small hand-written SVG: a few rectangles and
//! lines, self-contained and deterministic, where a plotting crate would bring system libraries
//! (plotters) or an API larger than the drawing (svg).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::fmt::Write as _;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// The run's timeline, set once by the option parser when `--timeline` is given, else left empty.
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

/// Whatever a task returns, seen as success or failure: a `Result` failed when it is an `Err`, a
/// `bool` (such as [`crate::succeeded`]'s) when it is `false`; a number (`fib`'s) always succeeded.
pub trait Outcome {
    /// Whether the task succeeded.
    fn succeeded(&self) -> bool;
}

impl<T, E> Outcome for Result<T, E> {
    fn succeeded(&self) -> bool {
        self.is_ok()
    }
}

impl Outcome for bool {
    fn succeeded(&self) -> bool {
        *self
    }
}

macro_rules! always_succeeded {
    ($($t:ty),*) => { $(impl Outcome for $t { fn succeeded(&self) -> bool { true } })* };
}
always_succeeded!((), u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

/// Turns recording on for this run: from now on [`task`], [`task_async`] and [`record`] record into
/// `timeline`, and the summary line writes it. Returns false (and changes nothing) if a timeline was
/// already set. The option parser calls this for `--timeline`.
pub fn enable(timeline: Timeline) -> bool {
    TIMELINE.set(timeline).is_ok()
}

/// Whether this run records a timeline (`--timeline` was given). A process pool can skip timing its
/// tasks when it is false.
pub fn enabled() -> bool {
    TIMELINE.get().is_some()
}

/// Runs one task and, with `--timeline`, records it as a bar on the lane of the thread that ran it,
/// labelled `label` (the URL, or `fib`). Returns what the task returned; whether it failed comes from
/// its [`Outcome`]. Without `--timeline` it only calls `work`.
///
/// `shared::succeeded(url, shared::timeline::task(url, || download_site(url, &client)))`
pub fn task<T: Outcome>(label: &str, work: impl FnOnce() -> T) -> T {
    match TIMELINE.get() {
        None => work(),
        Some(timeline) => timeline.task(label, work),
    }
}

/// [`task`] for a future: the bar starts when the future is first polled and ends when it is ready,
/// on the lane of the thread that first polled it. Overlapping bars of one thread (io_async's) are
/// stacked when drawn. Without `--timeline` it only awaits `future`.
///
/// `shared::succeeded(url, shared::timeline::task_async(url, download_site(url, &client)).await)`
pub async fn task_async<F>(label: &str, future: F) -> F::Output
where
    F: Future,
    F::Output: Outcome,
{
    match TIMELINE.get() {
        None => future.await,
        Some(timeline) => timeline.task_async(label, future).await,
    }
}

/// With `--timeline`, records a task that ran elsewhere, on the lane named `worker` (`Process-2`),
/// between `start` and `end` on this process's clock. A process pool calls it when a result comes
/// back: the worker measures how long its task took and sends that with the result, and the parent
/// records `record(name, label, received - took, received, ok)`. Does nothing without `--timeline`.
pub fn record(worker: &str, label: &str, start: Instant, end: Instant, ok: bool) {
    if let Some(timeline) = TIMELINE.get() {
        timeline.record(worker, label, start, end, ok);
    }
}

/// Called by the summary line at the end of every run: with `--timeline`, writes the picture of a
/// run that took `duration` (its start is taken as `duration` before now, the `start_time` of the
/// example) and says so on stderr. Returns false, after one stderr line saying why, if the file could
/// not be written; true otherwise, and when there is no timeline.
pub fn finish(duration: Duration) -> bool {
    let Some(timeline) = TIMELINE.get() else { return true };
    let now = Instant::now();
    let origin = now.checked_sub(duration).unwrap_or(now);
    match timeline.save(origin, duration) {
        Ok(summary) => {
            eprintln!("Wrote the timeline of {summary} to {}", timeline.path.display());
            true
        }
        Err(error) => {
            eprintln!("Could not write the timeline to {}: {error}", timeline.path.display());
            false
        }
    }
}

/// The tasks of one run as they happen, and the file they will be drawn into. Usually there is one,
/// global, behind [`enable`]; tests make their own.
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

struct Span {
    lane: Lane,
    label: String,
    start: Instant,
    end: Instant,
    ok: bool,
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

    /// The file it will be written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`task`], recording into this timeline.
    pub fn task<T: Outcome>(&self, label: &str, work: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let output = work();
        self.record_thread(label, start, Instant::now(), output.succeeded());
        output
    }

    /// [`task_async`], recording into this timeline.
    pub async fn task_async<F>(&self, label: &str, future: F) -> F::Output
    where
        F: Future,
        F::Output: Outcome,
    {
        let start = Instant::now();
        let thread = thread::current();
        let output = future.await;
        let span = Span {
            lane: Lane::Thread(thread.id()),
            label: label.to_string(),
            start,
            end: Instant::now(),
            ok: output.succeeded(),
        };
        self.push(span, Some(&thread));
        output
    }

    /// [`record`], into this timeline.
    pub fn record(&self, worker: &str, label: &str, start: Instant, end: Instant, ok: bool) {
        let span = Span {
            lane: Lane::Named(worker.to_string()),
            label: label.to_string(),
            start,
            end: end.max(start),
            ok,
        };
        self.push(span, None);
    }

    fn record_thread(&self, label: &str, start: Instant, end: Instant, ok: bool) {
        let thread = thread::current();
        let lane = Lane::Thread(thread.id());
        self.push(Span { lane, label: label.to_string(), start, end, ok }, Some(&thread));
    }

    fn push(&self, span: Span, thread: Option<&thread::Thread>) {
        let mut recorded = self.recorded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(thread) = thread {
            recorded
                .thread_names
                .entry(thread.id())
                .or_insert_with(|| thread.name().map(Into::into));
        }
        recorded.spans.push(span);
    }

    /// The recorded tasks as bars, in seconds since `origin` (a task that started earlier starts
    /// at 0). Thread lanes are named by the thread's name (`main thread`) or, for unnamed threads, by
    /// the order in which they started their first task: `thread 1`, `thread 2`, ...
    pub fn bars(&self, origin: Instant) -> Vec<Bar> {
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
            })
            .collect()
    }

    /// Draws the run that started at `origin` and took `duration` (see [`render`]).
    pub fn render(&self, origin: Instant, duration: Duration) -> String {
        draw(&self.heading, &self.bars(origin), duration, self.cores)
    }

    /// Writes [`Timeline::render`] to the file. Returns what it drew (`160 downloads on 5 threads`).
    pub fn save(&self, origin: Instant, duration: Duration) -> io::Result<String> {
        let bars = self.bars(origin);
        std::fs::write(&self.path, draw(&self.heading, &bars, duration, self.cores))?;
        let workers = Workers::of(&bars);
        let work = noun(bars.len(), self.heading.work);
        Ok(format!("{} {work} on {}", thousands(bars.len()), workers.counted()))
    }
}

/// One task as drawn, in time since the start of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The lane it is drawn on.
    pub worker: Worker,
    /// What it was: a URL (its host and path choose the colour), or `fib`.
    pub label: String,
    /// When it started.
    pub start: Duration,
    /// When it ended.
    pub end: Duration,
    /// False if it failed: it is then drawn hatched in red.
    pub ok: bool,
}

/// Who ran a task: one lane each.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Worker {
    /// A thread of this process: `main thread`, `thread 3`.
    Thread(String),
    /// A worker named by whoever recorded it: `Process-2`.
    Named(String),
}

impl Worker {
    /// The lane's name.
    pub fn name(&self) -> &str {
        match self {
            Worker::Thread(name) | Worker::Named(name) => name,
        }
    }
}

// The drawing. Everything is in SVG user units, which browsers show as CSS pixels.
const WIDTH: f64 = 1200.0;
const RIGHT: f64 = 30.0;
/// Room for lane names: at least this much, so that the pictures of the examples line up, and at
/// most this much (longer names overflow on the left rather than squeeze the plot).
const MIN_LABEL: f64 = 100.0;
const MAX_LABEL: f64 = 220.0;
const MIN_PLOT_WIDTH: f64 = WIDTH - MAX_LABEL - 16.0 - RIGHT;
/// The plot is at most this tall, so that a picture fits a screen whatever the number of lanes.
const PLOT_HEIGHT: f64 = 540.0;
/// A row is at most this tall (the one lane of io_sync is not a 540 px slab).
const ROW_HEIGHT: f64 = 28.0;
/// Beyond this many rows (io_async's stacked tasks with no limit), neighbouring rows are merged.
const MAX_ROWS: usize = 270;
/// Bars narrower than this are merged with their neighbours into one block.
const THIN: f64 = 2.0;
/// Above this many tasks, single bars get no hover text, to keep the file small.
const MAX_TOOLTIPS: usize = 3000;
/// The colours of the first kinds of task (Okabe and Ito's colour-blind safe palette, without its
/// red, which marks failures); further kinds share OTHER.
const PALETTE: [&str; 6] = ["#0072B2", "#E69F00", "#009E73", "#56B4E9", "#CC79A7", "#F0E442"];
const OTHER: &str = "#BBBBBB";

/// Draws `bars` as a self-contained SVG: the title (crate, task count, workers, `duration`), a
/// caption, one lane per worker with a bar per task (tasks that overlap on one worker, as io_async's
/// do, are stacked in rows), a time axis in seconds and a legend. Failed tasks are hatched in red and
/// counted in the legend. Bars too thin to see are merged into blocks, and the caption says so.
pub fn render(heading: &Heading, bars: &[Bar], duration: Duration) -> String {
    draw(heading, bars, duration, None)
}

/// [`render`], and when the machine's `cores` are known and a computation ran on more workers than
/// that, a caption that says why each call took longer than it would alone.
fn draw(heading: &Heading, bars: &[Bar], duration: Duration, cores: Option<usize>) -> String {
    let workers = Workers::of(bars);
    let kinds = Kinds::of(bars, heading.work);
    let last_end = bars.iter().map(|bar| bar.end).max().unwrap_or_default();
    let total = match duration.max(last_end).as_secs_f64() {
        0.0 => 1.0,
        total => total,
    };

    // Stack the tasks of each worker into rows. An overlap of half a pixel does not count (the plot
    // is at least MIN_PLOT_WIDTH wide, and draw_row merges only bars that overlap by a pixel).
    let mut lanes: Vec<LaneRows<'_>> = workers
        .names
        .iter()
        .map(|name| {
            let mut own: Vec<&Bar> = bars.iter().filter(|bar| bar.worker.name() == name).collect();
            own.sort_by(|a, b| (a.start, a.end, &a.label).cmp(&(b.start, b.end, &b.label)));
            let (slots, stacked) = stack(&own, 0.5 * total / MIN_PLOT_WIDTH);
            LaneRows { name: name.clone(), bars: own, slots, stacked, rows: stacked }
        })
        .collect();
    let note = |lane: &LaneRows<'_>| format!("up to {} at once", thousands(lane.stacked));
    let left = lanes
        .iter()
        .map(|lane| {
            let note = if lane.stacked > 1 { text_width(&note(lane), 11.0) } else { 0.0 };
            text_width(&lane.name, 12.0).max(note)
        })
        .fold(0.0, f64::max)
        .clamp(MIN_LABEL, MAX_LABEL)
        + 16.0;
    let scale = Scale { left, width: WIDTH - left - RIGHT, total };

    // Fit all rows into the plot, merging neighbouring rows when there are too many.
    let stacked_rows: usize = lanes.iter().map(|lane| lane.stacked).sum();
    let folded = stacked_rows > MAX_ROWS;
    if folded {
        for lane in &mut lanes {
            lane.rows = (lane.stacked * MAX_ROWS).div_ceil(stacked_rows).max(1);
        }
    }
    let rows: usize = lanes.iter().map(|lane| lane.rows).sum::<usize>().max(1);
    let lane_gap = match lanes.len() {
        0 | 1 => 0.0,
        2..=40 => 6.0,
        _ => 1.0,
    };
    let gaps = lane_gap * lanes.len().saturating_sub(1) as f64;
    let row_height = ((PLOT_HEIGHT - gaps).max(PLOT_HEIGHT / 2.0) / rows as f64).min(ROW_HEIGHT);
    let pad = match row_height {
        8.0.. => 1.5,
        3.0.. => 0.5,
        _ => 0.0,
    };

    // The lanes: their backgrounds, their bars, their names.
    let mut backgrounds = String::new();
    let mut body = String::new();
    let mut names = String::new();
    let mut merged = Merged::default();
    let tooltips = bars.len() <= MAX_TOOLTIPS;
    let mut y = 0.0;
    let mut names_bottom = f64::NEG_INFINITY;
    for lane in &lanes {
        let height = lane.rows as f64 * row_height;
        let _ = writeln!(
            backgrounds,
            r##"<rect class="lane-bg" x="{left:.1}" y="{y:.1}" width="{:.1}" height="{height:.1}" fill="#F0F0F0"/>"##,
            scale.width
        );
        let _ = write!(
            body,
            r#"<g class="lane" data-worker="{}" data-rows="{}">"#,
            escape(&lane.name),
            lane.stacked
        );
        let mut by_row: BTreeMap<usize, Vec<&Bar>> = BTreeMap::new();
        for (bar, slot) in lane.bars.iter().zip(&lane.slots) {
            by_row.entry(slot * lane.rows / lane.stacked).or_default().push(bar);
        }
        for (row, row_bars) in &by_row {
            let top = y + *row as f64 * row_height + pad;
            let shape = Shape { top, height: row_height - 2.0 * pad, tooltips };
            // Failures last, so that they are drawn over anything merged near them.
            let (ok, failed): (Vec<&Bar>, Vec<&Bar>) = row_bars.iter().partition(|bar| bar.ok);
            for group in [ok, failed] {
                draw_row(&mut body, &group, &scale, &kinds, &shape, &mut merged);
            }
        }
        body.push_str("</g>\n");
        // The lane's name, unless it would overlap the one above (when there are many lanes).
        let middle = y + height / 2.0;
        if middle - 6.0 >= names_bottom {
            let stacked = lane.stacked > 1 && height >= 34.0;
            let baseline = if stacked { middle - 2.0 } else { middle + 4.0 };
            let _ = writeln!(
                names,
                r##"<text x="{:.1}" y="{baseline:.1}" text-anchor="end" font-size="12" fill="#222">{}</text>"##,
                left - 8.0,
                escape(&lane.name)
            );
            names_bottom = baseline + 4.0;
            if stacked {
                let _ = writeln!(
                    names,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#666">{}</text>"##,
                    left - 8.0,
                    baseline + 14.0,
                    note(lane)
                );
                names_bottom = baseline + 18.0;
            }
        }
        y += height + lane_gap;
    }
    let plot_height = (y - lane_gap).max(row_height);

    // The title and the caption, which say what the picture does not show by itself.
    let count = bars.len();
    let work = noun(count, heading.work);
    let mut title = format!(
        "{}: {} {work} on {} in {:.2} s",
        heading.example,
        thousands(count),
        workers.counted(),
        duration.as_secs_f64()
    );
    if count == 0 {
        title = format!("{}: no tasks were recorded", heading.example);
    }
    let mut captions = Vec::new();
    let colour = match heading.work {
        Work::Downloads => ", coloured by site",
        Work::Fib(_) => "",
    };
    captions.push(format!(
        "One bar per {} from its start to its end{colour}; one lane per {}.",
        noun(1, heading.work),
        workers.noun(1)
    ));
    if let (Work::Fib(_), Some(cores)) = (heading.work, cores)
        && workers.names.len() > cores
    {
        captions.push(format!(
            "{} shared this machine's {cores} CPU {}, so each call took longer than it would with a core to itself.",
            workers.counted(),
            if cores == 1 { "core" } else { "cores" }
        ));
    }
    if let Some(most) = lanes.iter().filter(|lane| lane.stacked > 1).max_by_key(|lane| lane.stacked)
    {
        let at_once = thousands(most.stacked);
        if lanes.len() == 1 && workers.threads {
            let on = if most.name == "main thread" { "the main thread" } else { &most.name };
            captions.push(format!(
                "All {} {work} ran on one thread ({on}): those that overlapped in time are stacked in rows, up to {at_once} at once.",
                thousands(count),
            ));
        } else {
            captions.push(format!(
                "Tasks that overlapped in time on one {} are stacked in rows (up to {at_once} at once, on {}).",
                workers.noun(1),
                most.name
            ));
        }
    }
    if folded {
        captions.push(format!(
            "There are too many rows to draw: each drawn row holds about {} of the {} rows.",
            stacked_rows.div_ceil(rows),
            thousands(stacked_rows)
        ));
    }
    if merged.tasks > 0 {
        captions.push(format!(
            "{} tasks too short or too crowded to draw alone are merged into {} {}, striped by {}; hover over one for its counts.",
            thousands(merged.tasks),
            thousands(merged.blocks),
            if merged.blocks == 1 { "block" } else { "blocks" },
            if heading.work == Work::Downloads { "site" } else { "kind" },
        ));
    }

    let top = 50.0 + 18.0 * captions.len() as f64;
    let axis_y = top + plot_height + 6.0;
    let legend = legend(&kinds, bars, &merged, left, axis_y + 56.0);
    let height = (legend.bottom + 14.0).ceil();

    let mut svg = String::with_capacity(body.len() + 16_384);
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif">"##
    );
    svg.push_str("<defs>");
    svg.push_str(&stripes("failed", &["#FDE2E2", "#D62728"], &[3.5, 2.5]));
    for mix in &merged.mixes {
        let colours: Vec<&str> = mix.iter().map(|&kind| Kinds::colour(kind)).collect();
        svg.push_str(&stripes(&mix_id(mix), &colours, &[3.0; PALETTE.len() + 1][..mix.len()]));
    }
    svg.push_str("</defs>\n");
    svg.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(
        svg,
        r##"<text class="title" x="{left:.1}" y="28" font-size="18" font-weight="bold" fill="#111">{}</text>"##,
        escape(&title)
    );
    for (i, caption) in captions.iter().enumerate() {
        let _ = writeln!(
            svg,
            r##"<text class="caption" x="{left:.1}" y="{:.1}" font-size="13" fill="#444">{}</text>"##,
            50.0 + 18.0 * i as f64,
            escape(caption)
        );
    }
    let _ = writeln!(svg, r#"<g class="plot" transform="translate(0 {top:.1})">"#);
    svg.push_str(&backgrounds);
    // Grid lines over the lanes' backgrounds and under their bars, then the axis below them.
    let step = tick_step(total, scale.width);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let axis = plot_height + 6.0;
    for i in 0..=(total / step + 1e-9).floor() as usize {
        let t = i as f64 * step;
        let x = scale.x(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="0" x2="{x:.1}" y2="{plot_height:.1}" stroke="#D8D8D8"/><line x1="{x:.1}" y1="{axis:.1}" x2="{x:.1}" y2="{:.1}" stroke="#444"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#444">{t:.decimals$}</text>"##,
            axis + 5.0,
            axis + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{left:.1}" y1="{axis:.1}" x2="{:.1}" y2="{axis:.1}" stroke="#444"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#444">seconds since the start of the run</text>"##,
        left + scale.width,
        left + scale.width / 2.0,
        axis + 34.0
    );
    svg.push_str(&body);
    svg.push_str(&names);
    svg.push_str("</g>\n");
    svg.push_str(&legend.svg);
    svg.push_str("</svg>\n");
    svg
}

/// The lanes of a picture: every worker that ran a task, in natural order (`Process-2` before
/// `Process-10`).
struct Workers {
    names: Vec<String>,
    threads: bool,
    processes: bool,
}

impl Workers {
    fn of(bars: &[Bar]) -> Workers {
        let mut names: Vec<String> = bars.iter().map(|bar| bar.worker.name().to_string()).collect();
        names.sort_by_cached_key(|name| natural_key(name));
        names.dedup();
        let threads = bars.iter().all(|bar| matches!(bar.worker, Worker::Thread(_)));
        let processes = bars.iter().all(|bar| bar.worker.name().starts_with("Process-"));
        Workers { names, threads, processes }
    }

    fn noun(&self, count: usize) -> &'static str {
        match (self.threads, self.processes, count == 1) {
            (true, _, true) => "thread",
            (true, _, false) => "threads",
            (false, true, true) => "process",
            (false, true, false) => "processes",
            (false, false, true) => "worker",
            (false, false, false) => "workers",
        }
    }

    fn counted(&self) -> String {
        format!("{} {}", thousands(self.names.len()), self.noun(self.names.len()))
    }
}

/// `download`/`downloads`, `call of fib(35)`/`calls of fib(35)`.
fn noun(count: usize, work: Work) -> String {
    let one = count == 1;
    match work {
        Work::Downloads if one => "download".to_string(),
        Work::Downloads => "downloads".to_string(),
        Work::Fib(n) if one => format!("call of fib({n})"),
        Work::Fib(n) => format!("calls of fib({n})"),
    }
}

/// 10000 as `10,000`.
fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn natural_key(name: &str) -> Vec<Result<u64, String>> {
    let mut key = Vec::new();
    let mut rest = name;
    while let Some(first) = rest.chars().next() {
        let digits = first.is_ascii_digit();
        let end = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        key.push(match run.parse::<u64>() {
            Ok(number) if digits => Ok(number),
            _ => Err(run.to_string()),
        });
        rest = tail;
    }
    key
}

/// One worker's tasks and the rows they are drawn in.
struct LaneRows<'a> {
    name: String,
    /// Sorted by start.
    bars: Vec<&'a Bar>,
    /// The row of each bar among the stacked rows.
    slots: Vec<usize>,
    /// How many rows stacking needed: 1 when no two tasks overlapped.
    stacked: usize,
    /// How many rows are drawn (fewer than `stacked` when there are too many).
    rows: usize,
}

/// Stacks bars sorted by start into rows, each bar into the lowest row free at its start (bars that
/// overlap by less than `slack` seconds count as one after the other). Returns each bar's row and
/// the number of rows.
fn stack(bars: &[&Bar], slack: f64) -> (Vec<usize>, usize) {
    let mut free = BTreeSet::new();
    let mut busy = BinaryHeap::new();
    let mut rows = 0;
    let slots = bars
        .iter()
        .map(|bar| {
            let start = bar.start.as_secs_f64() + slack;
            // Times are never negative, so their bits sort as the numbers do.
            while let Some(&Reverse((end, row))) = busy.peek() {
                if f64::from_bits(end) > start {
                    break;
                }
                busy.pop();
                free.insert(row);
            }
            let row = free.pop_first().unwrap_or_else(|| {
                rows += 1;
                rows - 1
            });
            busy.push(Reverse((bar.end.as_secs_f64().to_bits(), row)));
            row
        })
        .collect();
    (slots, rows.max(1))
}

/// Where times go on the page.
struct Scale {
    left: f64,
    width: f64,
    total: f64,
}

impl Scale {
    fn x(&self, seconds: f64) -> f64 {
        self.left + seconds / self.total * self.width
    }
}

/// The kinds of task, in order of first start, each with its colour and the number of its tasks
/// that succeeded. A kind is a URL's host and path, without the port or the look-alike server's
/// address (so `--local` is coloured like the real sites), or else the label itself.
struct Kinds {
    names: Vec<(String, usize)>,
    index: HashMap<String, usize>,
}

impl Kinds {
    fn of(bars: &[Bar], work: Work) -> Kinds {
        let mut by_start: Vec<&Bar> = bars.iter().collect();
        by_start.sort_by_key(|bar| bar.start);
        let mut kinds = Kinds { names: Vec::new(), index: HashMap::new() };
        for bar in by_start {
            let next = kinds.names.len();
            let i = *kinds.index.entry(kind_of(&bar.label)).or_insert(next);
            if i == next {
                let name = match work {
                    Work::Fib(n) if bar.label == "fib" => format!("fib({n})"),
                    _ => kind_of(&bar.label),
                };
                kinds.names.push((name, 0));
            }
            kinds.names[i].1 += usize::from(bar.ok);
        }
        kinds
    }

    /// The kind's number, which chooses its colour.
    fn of_label(&self, label: &str) -> usize {
        self.index.get(&kind_of(label)).copied().unwrap_or(usize::MAX)
    }

    fn colour(kind: usize) -> &'static str {
        PALETTE.get(kind).copied().unwrap_or(OTHER)
    }
}

fn kind_of(label: &str) -> String {
    // A URL's kind is its site: `host/path`, or only the path on a loopback host (the look-alike
    // server's `http://127.0.0.1:PORT/www.jython.org`). No URL parser: the CPU examples build
    // without one, and the timeline's URLs come from the examples' validated options.
    let Some((_, rest)) = label.split_once("://") else { return label.to_string() };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_matches('/');
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']').map_or(bracketed, |(host, _)| host),
        None => authority.split_once(':').map_or(authority, |(host, _)| host),
    };
    if host.is_empty() {
        return label.to_string();
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let host = if authority.starts_with('[') { format!("[{host}]") } else { host.to_string() };
    if loopback && !path.is_empty() {
        path.to_string()
    } else if path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

/// A pattern of diagonal stripes in the given colours and widths.
fn stripes(id: &str, colours: &[&str], widths: &[f64]) -> String {
    let period: f64 = widths.iter().sum();
    let mut pattern = format!(
        r#"<pattern id="{id}" patternUnits="userSpaceOnUse" width="{period}" height="{period}" patternTransform="rotate(45)">"#
    );
    let mut x = 0.0;
    for (colour, width) in colours.iter().zip(widths) {
        let _ =
            write!(pattern, r#"<rect x="{x}" width="{width}" height="{period}" fill="{colour}"/>"#);
        x += width;
    }
    pattern.push_str("</pattern>");
    pattern
}

/// The id of the pattern of a block of several kinds.
fn mix_id(kinds: &[usize]) -> String {
    let numbers: Vec<String> = kinds.iter().map(usize::to_string).collect();
    format!("mix-{}", numbers.join("-"))
}

/// Where a row's bars go.
struct Shape {
    top: f64,
    height: f64,
    tooltips: bool,
}

/// What was merged, for the caption and the legend.
#[derive(Default)]
struct Merged {
    tasks: usize,
    blocks: usize,
    /// The kinds of each block of several kinds (striped in their colours).
    mixes: BTreeSet<Vec<usize>>,
}

/// A run of bars drawn as one shape.
struct Block<'a> {
    x0: f64,
    x1: f64,
    thin: bool,
    bars: Vec<&'a Bar>,
}

/// Draws one row's bars (all succeeded or all failed), sorted by start. A bar narrower than THIN px
/// that starts within a pixel of a block of such bars joins it, and so does any bar that overlaps a
/// block by more than a pixel (when rows were merged); a block of one bar is drawn as that bar.
fn draw_row(
    out: &mut String,
    bars: &[&Bar],
    scale: &Scale,
    kinds: &Kinds,
    shape: &Shape,
    merged: &mut Merged,
) {
    let mut block: Option<Block<'_>> = None;
    for &bar in bars {
        let x0 = scale.x(bar.start.as_secs_f64());
        let x1 = scale.x(bar.end.as_secs_f64()).max(x0);
        let thin = x1 - x0 < THIN;
        if let Some(current) = &mut block {
            let overlaps = x0 < current.x1 - 1.0;
            if overlaps || (thin && current.thin && x0 <= current.x1 + 1.0) {
                current.x1 = current.x1.max(x1);
                current.thin &= thin;
                current.bars.push(bar);
                continue;
            }
            draw_block(out, current, kinds, shape, merged);
        }
        block = Some(Block { x0, x1, thin, bars: vec![bar] });
    }
    if let Some(current) = &block {
        draw_block(out, current, kinds, shape, merged);
    }
}

fn draw_block(
    out: &mut String,
    block: &Block<'_>,
    kinds: &Kinds,
    shape: &Shape,
    merged: &mut Merged,
) {
    let ok = block.bars[0].ok;
    let single = block.bars.len() == 1;
    let mut width = block.x1 - block.x0;
    // A pixel of white between bars that touch, so that a lane of back-to-back tasks shows each.
    if width > 3.0 {
        width -= 1.0;
    }
    let width = width.max(if ok { 1.0 } else { 2.0 });
    let mut kind_counts: BTreeMap<usize, usize> = BTreeMap::new();
    for bar in &block.bars {
        *kind_counts.entry(kinds.of_label(&bar.label)).or_default() += 1;
    }
    let mix: Vec<usize> = kind_counts.keys().map(|&kind| kind.min(PALETTE.len())).collect();
    let fill = match (ok, &mix[..]) {
        (false, _) => "url(#failed)".to_string(),
        (true, [kind]) => Kinds::colour(*kind).to_string(),
        (true, _) => {
            let fill = format!("url(#{})", mix_id(&mix));
            merged.mixes.insert(mix);
            fill
        }
    };
    let stroke = if ok { "" } else { r##" stroke="#B00000" stroke-width="1""## };
    let failed = if ok { "" } else { " failed" };
    let class = if single {
        format!(r#"class="task{failed}""#)
    } else {
        merged.tasks += block.bars.len();
        merged.blocks += 1;
        format!(r#"class="tasks{failed}" data-count="{}""#, block.bars.len())
    };
    let _ = write!(
        out,
        r#"<rect {class} x="{:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{fill}"{stroke}>"#,
        block.x0,
        shape.top,
        shape.height.max(0.5)
    );
    if single && shape.tooltips {
        let bar = block.bars[0];
        let _ = write!(
            out,
            "<title>{}{}: {:.3} to {:.3} s ({:.0} ms) on {}</title>",
            escape(&bar.label),
            if bar.ok { "" } else { " (failed)" },
            bar.start.as_secs_f64(),
            bar.end.as_secs_f64(),
            bar.end.saturating_sub(bar.start).as_secs_f64() * 1000.0,
            escape(bar.worker.name())
        );
    } else if !single {
        let first = block.bars.iter().map(|bar| bar.start).min().unwrap_or_default();
        let last = block.bars.iter().map(|bar| bar.end).max().unwrap_or_default();
        let _ = write!(
            out,
            "<title>{} {}tasks from {:.3} to {:.3} s:",
            block.bars.len(),
            if ok { "" } else { "failed " },
            first.as_secs_f64(),
            last.as_secs_f64()
        );
        for (kind, count) in &kind_counts {
            let name = kinds.names.get(*kind).map_or("others", |(name, _)| name.as_str());
            let _ = write!(out, " {count} {}", escape(name));
        }
        out.push_str("</title>");
    }
    out.push_str("</rect>");
}

struct Legend {
    svg: String,
    bottom: f64,
}

/// The legend, wrapped at the page's width: each kind with the number of its tasks that succeeded,
/// then the failures and the merged blocks when there are any.
fn legend(kinds: &Kinds, bars: &[Bar], merged: &Merged, left: f64, top: f64) -> Legend {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut others = 0;
    for (i, (name, count)) in kinds.names.iter().enumerate() {
        if i >= PALETTE.len() {
            others += count;
        } else if *count > 0 {
            let fill = format!(r#"fill="{}""#, Kinds::colour(i));
            entries.push((fill, format!("{name}: {}", thousands(*count))));
        }
    }
    if others > 0 {
        entries.push((format!(r#"fill="{OTHER}""#), format!("others: {}", thousands(others))));
    }
    let failed = bars.iter().filter(|bar| !bar.ok).count();
    if failed > 0 {
        let fill = r##"fill="url(#failed)" stroke="#B00000" stroke-width="1""##.to_string();
        entries.push((fill, format!("failed: {}", thousands(failed))));
    }
    if let Some(mix) = merged.mixes.first() {
        let fill = format!(r#"fill="url(#{})""#, mix_id(mix));
        entries.push((fill, "several tasks, merged".to_string()));
    }
    let mut svg = String::from("<g class=\"legend\">\n");
    let (mut x, mut y) = (left, top);
    for (fill, text) in entries {
        let width = 20.0 + text_width(&text, 12.0) + 24.0;
        if x > left && x + width > WIDTH - RIGHT {
            x = left;
            y += 22.0;
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="14" height="14" {fill}/><text x="{:.1}" y="{y:.1}" font-size="12" fill="#222">{}</text>"##,
            y - 11.0,
            x + 20.0,
            escape(&text)
        );
        x += width;
    }
    svg.push_str("</g>\n");
    Legend { svg, bottom: y + 6.0 }
}

/// A guess at a text's width in a sans-serif font, enough to lay out labels without font metrics.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.52
}

/// A step between ticks of 1, 2 or 5 times a power of ten, at least 70 px apart.
fn tick_step(total: f64, width: f64) -> f64 {
    let rough = total * 70.0 / width;
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(power)
}

/// Text made safe inside XML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_timeline_nothing_is_recorded() {
        // No test in this binary enables the global timeline.
        assert!(!enabled());
        assert_eq!(task("x", || 7u64), 7);
        let failed: Result<(), &str> = task("x", || Err("no"));
        assert!(failed.is_err());
        record("Process-1", "x", Instant::now(), Instant::now(), true);
        assert!(TIMELINE.get().is_none());
        assert!(finish(Duration::from_secs(1)), "nothing to write is not a failure");
    }

    #[test]
    fn kinds_ignore_the_look_alike_server() {
        assert_eq!(kind_of("https://www.jython.org"), "www.jython.org");
        assert_eq!(kind_of("http://olympus.realpython.org/dice"), "olympus.realpython.org/dice");
        assert_eq!(kind_of("http://127.0.0.1:4000/www.jython.org"), "www.jython.org");
        assert_eq!(
            kind_of("http://localhost:9/olympus.realpython.org/dice"),
            "olympus.realpython.org/dice"
        );
        assert_eq!(kind_of("http://127.0.0.1:4000/"), "127.0.0.1");
        assert_eq!(kind_of("fib"), "fib");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(14.3, 1070.0), 1.0);
        assert_eq!(tick_step(0.4, 1070.0), 0.05);
        assert_eq!(tick_step(2.0, 1070.0), 0.2);
        assert_eq!(tick_step(929.0, 1070.0), 100.0);
    }

    #[test]
    fn lanes_sort_naturally() {
        let mut names = vec!["Process-10", "Process-2", "Process-1"];
        names.sort_by_cached_key(|name| natural_key(name));
        assert_eq!(names, ["Process-1", "Process-2", "Process-10"]);
    }

    #[test]
    fn stacking_reuses_the_lowest_free_row() {
        let bar = |start: u64, end: u64| Bar {
            worker: Worker::Thread("main thread".into()),
            label: "x".into(),
            start: Duration::from_millis(start),
            end: Duration::from_millis(end),
            ok: true,
        };
        let bars = [bar(0, 10), bar(1, 5), bar(2, 20), bar(5, 8), bar(10, 12)];
        let refs: Vec<&Bar> = bars.iter().collect();
        assert_eq!(stack(&refs, 0.0), (vec![0, 1, 2, 1, 0], 3));
    }

    #[test]
    fn more_workers_than_cores_is_explained() {
        let bar = |k: usize| Bar {
            worker: Worker::Thread(format!("thread {k}")),
            label: "fib".into(),
            start: Duration::ZERO,
            end: Duration::from_millis(90),
            ok: true,
        };
        let bars: Vec<Bar> = (1..=3).map(bar).collect();
        let heading = Heading { example: "cpu_threads".into(), work: Work::Fib(35) };
        let drawn = |cores| draw(&heading, &bars, Duration::from_millis(90), cores);
        let shared = "3 threads shared this machine&apos;s 2 CPU cores, so each call took longer";
        assert!(drawn(Some(2)).contains(shared));
        assert!(!drawn(Some(4)).contains("shared this machine"));
        assert!(!drawn(None).contains("shared this machine"));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape(r#"a&b<c>"d'"#), "a&amp;b&lt;c&gt;&quot;d&apos;");
    }
}
