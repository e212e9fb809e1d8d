//! `--timeline`: what gets recorded, and what gets drawn for runs shaped like each example's.
//!
//! The shapes are made up (no clock is asserted on). Set `TIMELINE_PREVIEWS=DIR` to also write each
//! picture into DIR and look at it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use roxmltree::{Document, Node};
use shared::timeline::{self, Bar, Heading, Timeline, Work, Worker, render};

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

struct Shape {
    file: &'static str,
    heading: Heading,
    bars: Vec<Bar>,
    workers: usize,
}

fn heading(example: &str, work: Work) -> Heading {
    Heading { example: example.to_string(), work }
}

fn end_of(bars: &[Bar]) -> Duration {
    bars.iter().map(|bar| bar.end).max().unwrap_or_default() + Duration::from_millis(1)
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
        Shape {
            file: "io_sync",
            heading: heading("io_sync", Work::Downloads),
            bars: io_sync,
            workers: 1,
        },
        Shape {
            file: "io_threads",
            heading: heading("io_threads", Work::Downloads),
            bars: io_threads,
            workers: 5,
        },
        Shape {
            file: "io_async",
            heading: heading("io_async", Work::Downloads),
            bars: io_async,
            workers: 1,
        },
        Shape {
            file: "io_processes",
            heading: heading("io_processes", Work::Downloads),
            bars: io_processes,
            workers: 2,
        },
        Shape {
            file: "cpu_sync",
            heading: heading("cpu_sync", Work::Fib(35)),
            bars: cpu_sync,
            workers: 1,
        },
        Shape {
            file: "cpu_threads",
            heading: heading("cpu_threads", Work::Fib(35)),
            bars: cpu_threads,
            workers: 5,
        },
        Shape {
            file: "cpu_processes",
            heading: heading("cpu_processes", Work::Fib(35)),
            bars: cpu_processes,
            workers: 2,
        },
    ]
}

/// Runs of 10,000 downloads: on 64 threads, one after another, 100 at a time on one thread, and all
/// at once.
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
            }
        })
        .collect();
    let many = pool(&threads(64), &[0.0; 64], 10_000, site, download(&mut jitter));
    let io = |example: &str| heading(example, Work::Downloads);
    vec![
        Shape {
            file: "io_threads_10000_on_64",
            heading: io("io_threads"),
            bars: many,
            workers: 64,
        },
        Shape { file: "io_sync_10000", heading: io("io_sync"), bars: sync, workers: 1 },
        Shape { file: "io_async_10000", heading: io("io_async"), bars: limited, workers: 1 },
        Shape {
            file: "io_async_10000_unlimited",
            heading: io("io_async"),
            bars: unlimited,
            workers: 1,
        },
    ]
}

fn draw(shape: &Shape) -> String {
    let svg = render(&shape.heading, &shape.bars, end_of(&shape.bars));
    if let Some(dir) = std::env::var_os("TIMELINE_PREVIEWS") {
        std::fs::write(PathBuf::from(dir).join(format!("{}.svg", shape.file)), &svg).unwrap();
    }
    svg
}

fn class<'a>(document: &'a Document<'a>, name: &str) -> Vec<Node<'a, 'a>> {
    document.descendants().filter(|node| node.attribute("class") == Some(name)).collect()
}

fn text_of(document: &Document<'_>, name: &str) -> String {
    class(document, name).iter().filter_map(|node| node.text()).collect::<Vec<_>>().join("\n")
}

/// The tasks drawn, counting those merged into blocks.
fn drawn_tasks(document: &Document<'_>) -> usize {
    let single = class(document, "task").len() + class(document, "task failed").len();
    let merged: usize = ["tasks", "tasks failed"]
        .iter()
        .flat_map(|name| class(document, name))
        .map(|node| node.attribute("data-count").unwrap().parse::<usize>().unwrap())
        .sum();
    single + merged
}

#[test]
fn each_example_gets_a_lane_per_worker_and_a_bar_per_task() {
    for shape in shapes() {
        let svg = draw(&shape);
        let document =
            Document::parse(&svg).unwrap_or_else(|error| panic!("{}: {error}", shape.file));
        assert_eq!(document.root_element().tag_name().name(), "svg");
        let lanes = class(&document, "lane");
        assert_eq!(lanes.len(), shape.workers, "{}: lanes", shape.file);
        let single = class(&document, "task").len() + class(&document, "task failed").len();
        assert_eq!(single, shape.bars.len(), "{}: one bar per task, none merged", shape.file);
        let title = text_of(&document, "title");
        let count = shape.bars.len();
        assert!(title.starts_with(&format!("{}: {count} ", shape.heading.example)), "{title}");
        let unit = match shape.workers {
            1 => "thread",
            _ if shape.file.contains("processes") => "processes",
            _ => "threads",
        };
        assert!(title.contains(&format!(" on {} {unit} in ", shape.workers)), "{title}");
    }
}

#[test]
fn tasks_that_overlap_on_one_thread_are_stacked_and_the_caption_says_so() {
    let shape = shapes().into_iter().find(|shape| shape.file == "io_async").unwrap();
    let svg = draw(&shape);
    let document = Document::parse(&svg).unwrap();
    let lane = &class(&document, "lane")[0];
    assert_eq!(lane.attribute("data-worker"), Some("main thread"));
    assert_eq!(lane.attribute("data-rows"), Some("100"));
    let caption = text_of(&document, "caption");
    assert!(caption.contains("All 160 downloads ran on one thread (the main thread)"), "{caption}");
    assert!(caption.contains("up to 100 at once"), "{caption}");
}

#[test]
fn a_failed_task_is_drawn_and_marked() {
    let shape = shapes().into_iter().find(|shape| shape.file == "io_threads").unwrap();
    let svg = draw(&shape);
    let document = Document::parse(&svg).unwrap();
    let failed = class(&document, "task failed");
    assert_eq!(failed.len(), 2);
    for node in &failed {
        assert_eq!(node.attribute("fill"), Some("url(#failed)"));
        let tooltip = node.first_element_child().and_then(|title| title.text()).unwrap();
        assert!(tooltip.contains("/fault/") && tooltip.contains("(failed)"), "{tooltip}");
    }
    let legend = class(&document, "legend")[0];
    let legend: Vec<&str> = legend.descendants().filter_map(|node| node.text()).collect();
    assert!(legend.contains(&"failed: 2"), "{legend:?}");
    assert!(legend.contains(&"www.jython.org: 79"), "{legend:?}");
    assert!(!legend.iter().any(|text| text.contains("fault")), "only failed: {legend:?}");
}

#[test]
fn ten_thousand_tasks_are_summarised_and_every_one_counted() {
    for shape in big_shapes() {
        let svg = draw(&shape);
        let document =
            Document::parse(&svg).unwrap_or_else(|error| panic!("{}: {error}", shape.file));
        assert_eq!(class(&document, "lane").len(), shape.workers, "{}", shape.file);
        assert_eq!(drawn_tasks(&document), 10_000, "{}", shape.file);
        let failed = shape.bars.iter().filter(|bar| !bar.ok).count();
        let drawn_failed = class(&document, "task failed").len();
        assert_eq!(drawn_failed, failed, "{}: a failure stays visible", shape.file);
        assert!(svg.len() < 2_000_000, "{}: {} bytes", shape.file, svg.len());
        let caption = text_of(&document, "caption");
        match shape.file {
            "io_sync_10000" => assert!(caption.contains("merged into"), "{caption}"),
            "io_async_10000" | "io_threads_10000_on_64" => {
                assert_eq!(class(&document, "task").len(), 10_000, "wide enough to draw each")
            }
            _ => assert!(caption.contains("too many rows to draw"), "{caption}"),
        }
    }
}

#[test]
fn text_is_escaped() {
    let bars = vec![Bar {
        worker: Worker::Named("<Process-1> & co".to_string()),
        label: "http://example.com/?a=1&b=\"2\"".to_string(),
        start: Duration::ZERO,
        end: Duration::from_millis(5),
        ok: true,
    }];
    let svg = render(&heading("io_<sync>", Work::Downloads), &bars, Duration::from_millis(5));
    let document = Document::parse(&svg).unwrap();
    assert_eq!(class(&document, "lane")[0].attribute("data-worker"), Some("<Process-1> & co"));
    assert!(text_of(&document, "title").starts_with("io_<sync>: 1 download on 1 worker"));
}

#[test]
fn an_empty_run_still_draws() {
    let svg = render(&heading("cpu_sync", Work::Fib(35)), &[], Duration::ZERO);
    let document = Document::parse(&svg).unwrap();
    assert!(text_of(&document, "title").contains("no tasks were recorded"));
}

#[test]
fn threads_get_a_lane_each_in_the_order_they_started() {
    let timeline = Timeline::new("unused.svg", heading("io_threads", Work::Downloads));
    let origin = Instant::now();
    // The first task, on this test's thread, comes before any of the others start.
    timeline.task("first", || ());
    thread::scope(|scope| {
        for k in 0..5 {
            let timeline = &timeline;
            scope.spawn(move || {
                for i in 0..4 {
                    let result: Result<(), String> =
                        if k == 2 && i == 1 { Err("boom".to_string()) } else { Ok(()) };
                    assert_eq!(timeline.task(&site(i), || result.clone()), result);
                }
            });
        }
    });
    let bars = timeline.bars(origin);
    assert_eq!(bars.len(), 21);
    assert_eq!(bars.iter().filter(|bar| !bar.ok).count(), 1);
    let mut workers: Vec<&str> = bars.iter().map(|bar| bar.worker.name()).collect();
    workers.sort();
    workers.dedup();
    // The test's own thread is named after the test; the five spawned ones are not named.
    let test_thread = thread::current().name().unwrap().to_string();
    assert_eq!(workers.len(), 6, "{workers:?}");
    for k in 1..=5 {
        assert!(workers.contains(&format!("thread {k}").as_str()), "{workers:?}");
    }
    assert!(workers.contains(&test_thread.as_str()));
    let svg = render(&heading("io_threads", Work::Downloads), &bars, origin.elapsed());
    let document = Document::parse(&svg).unwrap();
    assert_eq!(class(&document, "lane").len(), 6);
}

#[test]
fn futures_on_one_thread_share_its_lane() {
    let timeline = Timeline::new("unused.svg", heading("io_async", Work::Downloads));
    let origin = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let barrier = tokio::sync::Barrier::new(10);
    runtime.block_on(async {
        let tasks = (0..10).map(|i| {
            let (timeline, barrier) = (&timeline, &barrier);
            async move {
                // No task ends before all ten have started.
                let downloaded = async {
                    barrier.wait().await;
                    if i == 3 { Err("failed") } else { Ok(i) }
                };
                timeline.task_async(&site(i), downloaded).await
            }
        });
        let results = futures_util::future::join_all(tasks).await;
        assert_eq!(results.iter().filter(|result| result.is_err()).count(), 1);
    });
    let bars = timeline.bars(origin);
    assert_eq!(bars.len(), 10);
    assert!(bars.iter().all(|bar| bar.worker == bars[0].worker));
    let first_end = bars.iter().map(|bar| bar.end).min().unwrap();
    assert!(bars.iter().all(|bar| bar.start <= first_end), "all started before any ended");
}

#[test]
fn a_process_pool_records_with_the_workers_names() {
    let timeline = Timeline::new("unused.svg", heading("cpu_processes", Work::Fib(35)));
    let origin = Instant::now();
    for i in 0..20u32 {
        let name = format!("Process-{}", i % 4 + 1);
        // What the pool does when a result arrives: the worker said how long it took.
        let received = origin + Duration::from_millis(20 * u64::from(i / 4 + 1));
        let took = Duration::from_millis(19);
        timeline.record(&name, "fib", received - took, received, true);
    }
    let bars = timeline.bars(origin);
    let svg = render(&heading("cpu_processes", Work::Fib(35)), &bars, Duration::from_millis(101));
    let document = Document::parse(&svg).unwrap();
    let lanes: Vec<&str> = class(&document, "lane")
        .iter()
        .map(|lane| lane.attribute("data-worker").unwrap())
        .collect();
    assert_eq!(lanes, ["Process-1", "Process-2", "Process-3", "Process-4"]);
    assert_eq!(class(&document, "task").len(), 20);
    assert!(
        text_of(&document, "title")
            .starts_with("cpu_processes: 20 calls of fib(35) on 4 processes")
    );
}

/// The only test here that sets the global timeline: the summary line writes it, and a file that
/// cannot be written makes the run fail, once with a message and no panic.
#[test]
fn the_summary_line_writes_the_run_and_fails_when_it_cannot() {
    let dir = std::env::temp_dir().join(format!("shared-timeline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("run.svg");
    assert!(!timeline::enabled());
    assert!(timeline::enable(Timeline::new(&path, heading("cpu_threads", Work::Fib(35)))));
    assert!(!timeline::enable(Timeline::new(&path, heading("again", Work::Fib(1)))));
    let start_time = Instant::now();
    thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| assert_eq!(timeline::task("fib", || 9227465u64), 9227465));
        }
    });
    timeline::record("Process-1", "fib", start_time, Instant::now(), false);
    let duration = start_time.elapsed();

    // The folder does not exist yet: the run fails, and says why on stderr.
    assert_eq!(shared::report_computed(duration), ExitCode::FAILURE);
    assert!(!path.exists());

    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(shared::report_computed(duration), ExitCode::SUCCESS);
    let results = [Ok(()), Err(anyhow::anyhow!("a failed computation"))];
    assert_eq!(shared::report_computed_results(&results, duration), ExitCode::FAILURE);
    let svg = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let document = Document::parse(&svg).unwrap();
    assert_eq!(class(&document, "lane").len(), 4, "three threads and one process");
    assert_eq!(class(&document, "task").len(), 3);
    assert_eq!(class(&document, "task failed").len(), 1);
    assert!(
        text_of(&document, "title").starts_with("cpu_threads: 4 calls of fib(35) on 4 workers")
    );
}
