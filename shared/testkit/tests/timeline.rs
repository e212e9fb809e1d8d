//! `--timeline`: what shared's recording draws, read back with the one SVG reader
//! ([`testkit::timeline::Picture`]). The pictures that shared's own tests keep the renderer's
//! output to (`shared/src/timeline/expected/`) show what each example's run must show; runs
//! recorded here through shared's public API (threads, futures, a process pool's records, the
//! summary line) get a lane per worker and a bar per task.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use shared::timeline::{self, Heading, Timeline, Work};
use testkit::timeline::{Picture, numbered};

const JYTHON: &str = "https://www.jython.org";
const DICE: &str = "http://olympus.realpython.org/dice";

fn site(i: usize) -> &'static str {
    [JYTHON, DICE][i % 2]
}

fn heading(example: &str, work: Work) -> Heading {
    Heading { example: example.to_string(), work }
}

/// One of the pictures in shared's `src/timeline/expected/`.
fn expected(name: &str) -> Picture {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src/timeline/expected");
    let path = dir.join(format!("{name}.svg"));
    let svg = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path:?}: {error}"));
    Picture::parse(&svg)
}

/// A fresh file in the temporary folder, for a timeline to be saved into.
fn temporary(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("testkit-{name}-{}.svg", std::process::id()))
}

/// A timeline written to a temporary file, for `record` to fill, then saved and read back.
fn saved(name: &str, heading: Heading, record: impl FnOnce(&Timeline, Instant)) -> Picture {
    let path = temporary(name);
    let timeline = Timeline::new(&path, heading);
    let origin = Instant::now();
    record(&timeline, origin);
    timeline.save(origin, origin.elapsed()).expect("writing the picture");
    let svg = std::fs::read_to_string(&path).expect("reading the picture back");
    let _ = std::fs::remove_file(&path);
    Picture::parse(&svg)
}

#[test]
fn each_example_gets_a_lane_per_worker_and_a_bar_per_task() {
    let examples = [
        ("io_sync", 160, 1, "thread"),
        ("io_threads", 160, 5, "threads"),
        ("io_async", 160, 1, "thread"),
        ("io_processes", 160, 2, "processes"),
        ("cpu_sync", 20, 1, "thread"),
        ("cpu_threads", 20, 5, "threads"),
        ("cpu_processes", 20, 2, "processes"),
    ];
    for (example, tasks, workers, unit) in examples {
        let picture = expected(example);
        assert_eq!(picture.lanes.len(), workers, "{example}: {picture:#?}");
        assert_eq!(picture.bars.len(), tasks, "{example}: one bar per task, none merged");
        let title = &picture.title;
        assert!(title.starts_with(&format!("{example}: {tasks} ")), "{title}");
        assert!(title.contains(&format!(" on {workers} {unit} in ")), "{title}");
    }
}

#[test]
fn tasks_that_overlap_on_one_thread_are_stacked_and_the_caption_says_so() {
    let picture = expected("io_async");
    assert_eq!(picture.lanes, ["main thread"]);
    assert_eq!(picture.rows, [100]);
    let caption = picture.captions.join("\n");
    assert!(caption.contains("All 160 downloads ran on one thread (the main thread)"), "{caption}");
    assert!(caption.contains("up to 100 at once"), "{caption}");
}

#[test]
fn a_failed_task_is_drawn_and_marked() {
    let picture = expected("io_threads");
    assert_eq!(picture.failed.len(), 2, "{picture:#?}");
    for tooltip in &picture.failed {
        assert!(tooltip.contains("/fault/") && tooltip.contains("(failed)"), "{tooltip}");
    }
    let legend = &picture.legend;
    assert!(legend.contains(&"failed: 2".to_string()), "{legend:?}");
    assert!(legend.contains(&"www.jython.org: 79".to_string()), "{legend:?}");
    assert!(!legend.iter().any(|text| text.contains("fault")), "only failed: {legend:?}");
}

#[test]
fn ten_thousand_tasks_are_summarised_and_every_one_counted() {
    let merged = expected("io_sync_10000");
    assert_eq!(merged.tasks, 10_000);
    assert!(merged.captions.join("\n").contains("merged into"), "{:?}", merged.captions);
    let folded = expected("io_async_10000_unlimited");
    assert_eq!((folded.tasks, folded.failed_tasks, folded.failed.len()), (10_000, 1, 1));
    let caption = folded.captions.join("\n");
    assert!(caption.contains("too many rows to draw"), "{caption}");
}

#[test]
fn text_is_escaped() {
    let picture = saved("escaped", heading("io_<sync>", Work::Downloads), |timeline, origin| {
        let label = "http://example.com/?a=1&b=\"2\"";
        timeline.record("<Process-1> & co", label, origin, origin + Duration::from_millis(5), true);
    });
    assert_eq!(picture.lanes, ["<Process-1> & co"]);
    assert!(picture.title.starts_with("io_<sync>: 1 download on 1 worker"), "{picture:#?}");
    assert!(picture.bars[0].starts_with("http://example.com/?a=1&b=\"2\": "), "{picture:#?}");
}

#[test]
fn an_empty_run_still_draws() {
    let picture = saved("empty", heading("cpu_sync", Work::Fib(35)), |_, _| {});
    assert!(picture.title.contains("no tasks were recorded"), "{picture:#?}");
}

#[test]
fn threads_get_a_lane_each_in_the_order_they_started() {
    let picture = saved("threads", heading("io_threads", Work::Downloads), |timeline, _| {
        // The first task, on this test's thread, comes before any of the others start.
        timeline.task("first", || ());
        thread::scope(|scope| {
            for k in 0..5 {
                scope.spawn(move || {
                    for i in 0..4 {
                        let result: Result<(), String> =
                            if k == 2 && i == 1 { Err("boom".to_string()) } else { Ok(()) };
                        assert_eq!(timeline.task(site(i), || result.clone()), result);
                    }
                });
            }
        });
    });
    assert_eq!((picture.tasks, picture.failed_tasks), (21, 1), "{picture:#?}");
    // The test's own thread is named after the test; the five spawned ones are not named.
    let mut lanes = numbered("thread ", 5);
    lanes.push(thread::current().name().unwrap().to_string());
    assert_eq!(picture.lanes, lanes);
}

#[test]
fn futures_on_one_thread_share_its_lane() {
    let picture = saved("futures", heading("io_async", Work::Downloads), |timeline, _| {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let barrier = tokio::sync::Barrier::new(10);
        let tasks = (0..10).map(|i| {
            // No task ends before all ten have started.
            let barrier = &barrier;
            let downloaded = async move {
                barrier.wait().await;
                if i == 3 { Err("failed") } else { Ok(()) }
            };
            timeline.task_async(site(i), downloaded)
        });
        let results = runtime.block_on(futures_util::future::join_all(tasks));
        assert_eq!(results.iter().filter(|result| result.is_err()).count(), 1);
    });
    assert_eq!(picture.lanes.len(), 1, "{picture:#?}");
    assert_eq!((picture.tasks, picture.failed_tasks), (10, 1), "{picture:#?}");
}

#[test]
fn a_process_pool_records_with_the_workers_names_and_values() {
    let picture = saved("pool", heading("cpu_processes", Work::Fib(35)), |timeline, origin| {
        for i in 0..20u32 {
            let name = format!("Process-{}", i % 4 + 1);
            // What the pool does when a result arrives: the worker said how long it took, and
            // sent its value as text.
            let received = origin + Duration::from_millis(20 * u64::from(i / 4 + 1));
            let took = Duration::from_millis(19);
            let result: anyhow::Result<String> = Ok("9227465".to_string());
            timeline.record(&name, "fib", received - took, received, &result);
        }
    });
    assert_eq!(picture.lanes, numbered("Process-", 4));
    assert_eq!(picture.bars.len(), 20, "{picture:#?}");
    assert!(picture.bars.iter().all(|bar| bar.starts_with("fib(35) = 9227465: ")), "{picture:#?}");
    let title = "cpu_processes: 20 calls of fib(35) on 4 processes";
    assert!(picture.title.starts_with(title), "{picture:#?}");
}

/// The only test here that sets the global timeline: the summary line writes it, and a file that
/// cannot be written makes the run fail, once with a message and no panic.
#[test]
fn the_summary_line_writes_the_run_and_fails_when_it_cannot() {
    let dir = std::env::temp_dir().join(format!("testkit-timeline-{}", std::process::id()));
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
    let picture = Picture::parse(&svg);
    assert_eq!(picture.lanes.len(), 4, "three threads and one process: {picture:#?}");
    assert_eq!((picture.bars.len(), picture.failed.len()), (4, 1), "{picture:#?}");
    let values = picture.bars.iter().filter(|bar| bar.starts_with("fib(35) = 9227465: "));
    assert_eq!(values.count(), 3, "each thread's value: {picture:#?}");
    let title = "cpu_threads: 4 calls of fib(35) on 4 workers";
    assert!(picture.title.starts_with(title), "{picture:#?}");
}
