//! The renderer's output stays the same: runs shaped like each example's (made up, repeatable: no
//! clock is read) are drawn and compared byte for byte with the pictures in `expected/`. What the
//! pictures show is checked where the one SVG reader is, in testkit's `tests/timeline.rs`, which
//! reads the same files.
//!
//! After a change to the drawing on purpose, `TIMELINE_BLESS=1 cargo test -p shared timeline`
//! rewrites `expected/`; look at the pictures before committing them. `TIMELINE_PREVIEWS=DIR` writes
//! every picture drawn here into DIR, the 10,000-task ones too.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::svg::{Bar, Worker, draw};
use super::{Heading, TIMELINE, Work, enabled, finish, record, task};

const JYTHON: &str = "https://www.jython.org";
const DICE: &str = "http://olympus.realpython.org/dice";

/// Made-up but repeatable task durations.
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value)
}

fn site(i: usize) -> String {
    [JYTHON, DICE][i % 2].to_string()
}

/// `n` tasks taken in order by whichever of `workers` is free first (a worker may appear several
/// times: io_async's permits all run on one thread), each starting when it is free (`ready` at the
/// beginning) and taking `took(i)` seconds.
fn pool(
    workers: &[Worker],
    ready: &[f64],
    n: usize,
    label: impl Fn(usize) -> String,
    mut took: impl FnMut(usize) -> f64,
) -> Vec<Bar> {
    let mut free_at = ready.to_vec();
    (0..n)
        .map(|i| {
            let k = (0..workers.len()).min_by(|&a, &b| free_at[a].total_cmp(&free_at[b])).unwrap();
            let start = free_at[k];
            let end = start + took(i);
            free_at[k] = end;
            Bar {
                worker: workers[k].clone(),
                label: label(i),
                start: seconds(start),
                end: seconds(end),
                ok: true,
                value: None,
            }
        })
        .collect()
}

fn threads(count: usize) -> Vec<Worker> {
    (1..=count).map(|k| Worker::Thread(format!("thread {k}"))).collect()
}

fn processes(count: usize) -> Vec<Worker> {
    (1..=count).map(|k| Worker::Named(format!("Process-{k}"))).collect()
}

fn main_thread(times: usize) -> Vec<Worker> {
    vec![Worker::Thread("main thread".to_string()); times]
}

/// A download of the look-alike server at 90 ms: a little more for the bigger page.
fn download(jitter: &mut Jitter) -> impl FnMut(usize) -> f64 + '_ {
    move |i| 0.090 + 0.004 * jitter.next() + if i % 2 == 0 { 0.002 } else { 0.0 }
}

/// A made-up run and the name of its picture.
struct Shape {
    file: &'static str,
    heading: Heading,
    bars: Vec<Bar>,
}

fn shape(file: &'static str, example: &str, work: Work, bars: Vec<Bar>) -> Shape {
    Shape { file, heading: Heading { example: example.to_string(), work }, bars }
}

/// Runs shaped like the seven examples' default runs, with two failures in io_threads.
fn shapes() -> Vec<Shape> {
    let mut jitter = Jitter(7);
    let io_sync = pool(&main_thread(1), &[0.002], 160, site, download(&mut jitter));
    // Two failures: a server error, and a page that never answered until `--timeout 1`.
    let mut io_threads = {
        let mut took = download(&mut jitter);
        let faulty = |i: usize| match i {
            37 => "http://127.0.0.1:4000/fault/500".to_string(),
            38 => "http://127.0.0.1:4000/fault/stall".to_string(),
            _ => site(i),
        };
        pool(&threads(5), &[0.0; 5], 160, faulty, |i| if i == 38 { 1.0 } else { took(i) })
    };
    io_threads[37].ok = false;
    io_threads[38].ok = false;
    let stagger: Vec<f64> = (0..100).map(|i| 0.003 + 0.0002 * i as f64).collect();
    let io_async = pool(&main_thread(100), &stagger, 160, site, |_| 0.090 + 0.02 * jitter.next());
    let io_processes = pool(&processes(2), &[0.004, 0.006], 160, site, download(&mut jitter));
    let fib = |_| "fib".to_string();
    let cpu_sync = pool(&main_thread(1), &[0.0], 20, fib, |_| 0.019 + 0.001 * jitter.next());
    let cpu_threads = pool(&threads(5), &[0.0; 5], 20, fib, |_| 0.047 + 0.003 * jitter.next());
    let cpu_processes =
        pool(&processes(2), &[0.008, 0.009], 20, fib, |_| 0.019 + 0.001 * jitter.next());
    vec![
        shape("io_sync", "io_sync", Work::Downloads, io_sync),
        shape("io_threads", "io_threads", Work::Downloads, io_threads),
        shape("io_async", "io_async", Work::Downloads, io_async),
        shape("io_processes", "io_processes", Work::Downloads, io_processes),
        shape("cpu_sync", "cpu_sync", Work::Fib(35), cpu_sync),
        shape("cpu_threads", "cpu_threads", Work::Fib(35), cpu_threads),
        shape("cpu_processes", "cpu_processes", Work::Fib(35), cpu_processes),
    ]
}

/// Runs of 10,000 downloads: one after another (merged into blocks), all at once on one thread
/// (too many rows: folded), 100 at a time on one thread, and on 64 threads. The last two draw every
/// bar alone (870 kB each), so only the first two are kept in `expected/`.
fn big_shapes() -> Vec<Shape> {
    let mut jitter = Jitter(11);
    let sync = pool(&main_thread(1), &[0.0], 10_000, site, download(&mut jitter));
    let stagger: Vec<f64> = (0..100).map(|i| 0.0002 * i as f64).collect();
    let limited = pool(&main_thread(100), &stagger, 10_000, site, |_| 0.090 + 0.02 * jitter.next());
    let unlimited: Vec<Bar> = (0..10_000)
        .map(|i| {
            let start = 0.00008 * i as f64;
            Bar {
                worker: Worker::Thread("main thread".to_string()),
                label: site(i),
                start: seconds(start),
                end: seconds(start + 0.09 + 0.3 * jitter.next()),
                ok: i != 5000,
                value: None,
            }
        })
        .collect();
    let many = pool(&threads(64), &[0.0; 64], 10_000, site, download(&mut jitter));
    vec![
        shape("io_sync_10000", "io_sync", Work::Downloads, sync),
        shape("io_async_10000_unlimited", "io_async", Work::Downloads, unlimited),
        shape("io_async_10000", "io_async", Work::Downloads, limited),
        shape("io_threads_10000_on_64", "io_threads", Work::Downloads, many),
    ]
}

/// Draws a shape as `--timeline` would at the end of a run that lasted until its last bar's end
/// and a millisecond more, on a machine whose cores are not known.
fn drawn(shape: &Shape) -> String {
    let end = shape.bars.iter().map(|bar| bar.end).max().unwrap_or_default();
    let svg = draw(&shape.heading, &shape.bars, end + Duration::from_millis(1), None);
    if let Some(dir) = std::env::var_os("TIMELINE_PREVIEWS") {
        std::fs::write(PathBuf::from(dir).join(format!("{}.svg", shape.file)), &svg).unwrap();
    }
    svg
}

fn expected(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/timeline/expected/{file}.svg"))
}

#[test]
fn the_pictures_are_drawn_as_before() {
    for shape in shapes().iter().chain(&big_shapes()[..2]) {
        let svg = drawn(shape);
        let path = expected(shape.file);
        if std::env::var_os("TIMELINE_BLESS").is_some() {
            std::fs::write(&path, &svg).unwrap();
        }
        let before = std::fs::read_to_string(&path).unwrap_or_default();
        if svg != before {
            let now = std::env::temp_dir().join(format!("{}.svg", shape.file));
            std::fs::write(&now, &svg).unwrap();
            panic!("{} differs from {}: compare {}", shape.file, path.display(), now.display());
        }
    }
}

/// The two pictures too big to keep: every task is counted, alone, and the run's failure too.
#[test]
fn ten_thousand_tasks_wide_enough_are_each_drawn_alone() {
    for shape in &big_shapes()[2..] {
        let svg = drawn(shape);
        assert_eq!(svg.matches(r#"<rect class="task" "#).count(), 10_000, "{}", shape.file);
        assert!(!svg.contains(r#"class="tasks"#), "{}: nothing merged", shape.file);
        assert!(svg.len() < 2_000_000, "{}: {} bytes", shape.file, svg.len());
    }
}

#[test]
fn a_value_is_shown_in_the_hover_text() {
    let bar = |label: &str, value: Option<&str>| Bar {
        worker: Worker::Thread("main thread".into()),
        label: label.into(),
        start: Duration::ZERO,
        end: Duration::from_millis(20),
        ok: true,
        value: value.map(Into::into),
    };
    let heading = |example: &str, work| Heading { example: example.to_string(), work };
    let bars = [bar("fib", Some("9227465"))];
    let svg = draw(&heading("cpu_sync", Work::Fib(35)), &bars, bars[0].end, None);
    assert!(svg.contains("<title>fib(35) = 9227465: 0.000 to 0.020 s (20 ms) on main thread"));
    let bars = [bar(JYTHON, Some("<b>")), bar(DICE, None)];
    let svg = draw(&heading("io_sync", Work::Downloads), &bars, bars[0].end, None);
    assert!(svg.contains("<title>https://www.jython.org = &lt;b&gt;: "), "escaped");
    assert!(svg.contains("<title>http://olympus.realpython.org/dice: "), "no value, as before");
}

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
fn without_timeline_a_task_future_is_the_future_and_a_little() {
    let buffer = [1u8; 4096];
    let download = async move { Ok::<u8, ()>(buffer[4095]) };
    let size = std::mem::size_of_val(&download);
    let task = super::task_async("x", download);
    assert!(std::mem::size_of_val(&task) <= size + 64, "{size} bytes became more");
}
