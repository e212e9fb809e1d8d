//! What the examples' tests use to check the `--timeline` picture of a real run: run the binary
//! with `--timeline` into a fresh file, parse that file (it must be well-formed XML), and read back
//! its title, lanes and bars. [`downloads`] and [`fib`] do that for a small run of either family and
//! check what every example must draw; each example's test file then checks its lanes.
//!
//! Everything here panics on a failed check, with the run's output or the picture in the message.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use roxmltree::{Document, Node};

use crate::{Finished, run};
use shared::server::{Fault, SitesServer};
use shared::tutorial::SITES;

/// What a picture shows, read back from its SVG.
#[derive(Debug)]
pub struct Picture {
    /// `io_threads: 9 downloads on 3 threads in 0.08 s`.
    pub title: String,
    /// The lines under the title.
    pub captions: Vec<String>,
    /// The lanes' workers, top to bottom: `main thread`, `thread 2`, `Process-1`.
    pub lanes: Vec<String>,
    /// How many rows each lane's bars are stacked in (more than 1 when its tasks overlapped).
    pub rows: Vec<usize>,
    /// How many tasks are drawn, counting each task merged into a block.
    pub tasks: usize,
    /// The hover text of each bar drawn alone: `fib(35) = 9227465: 0.001 to 0.021 s (20 ms) on
    /// main thread`.
    pub bars: Vec<String>,
    /// The hover text of each failed bar drawn alone: `http://...: 0.021 to 0.023 s (2 ms) on ...`.
    pub failed: Vec<String>,
    /// How many failed tasks are drawn, alone or merged.
    pub failed_tasks: usize,
    /// The legend's entries: `www.jython.org: 79`, `failed: 2`.
    pub legend: Vec<String>,
}

impl Picture {
    /// Parses an SVG written by `--timeline`. Panics if it is not well-formed XML with an `<svg>`
    /// root and a title.
    pub fn parse(svg: &str) -> Picture {
        let document = Document::parse(svg)
            .unwrap_or_else(|error| panic!("the timeline is not well-formed XML: {error}"));
        assert_eq!(document.root_element().tag_name().name(), "svg", "the root is not <svg>");
        let texts = |class: &str| -> Vec<String> {
            let nodes = nodes(&document, |name| name == class);
            nodes.iter().filter_map(|node| node.text()).map(Into::into).collect()
        };
        let title = texts("title").pop().expect("the picture has a title");
        let lane_nodes: Vec<Node<'_, '_>> = nodes(&document, |name| name == "lane");
        let lane = |node: &Node<'_, '_>, attribute: &str| -> String {
            let value = node.attribute(attribute);
            value.unwrap_or_else(|| panic!("a lane without {attribute}")).to_string()
        };
        let bars: Vec<Node<'_, '_>> = nodes(&document, |name| {
            ["task", "tasks", "task failed", "tasks failed"].contains(&name)
        });
        let count =
            |bar: &Node<'_, '_>| bar.attribute("data-count").map_or(1, |n| n.parse().unwrap());
        let is_failed = |bar: &&Node<'_, '_>| bar.attribute("class").unwrap().ends_with(" failed");
        Picture {
            title,
            captions: texts("caption"),
            lanes: lane_nodes.iter().map(|node| lane(node, "data-worker")).collect(),
            rows: lane_nodes.iter().map(|node| lane(node, "data-rows").parse().unwrap()).collect(),
            tasks: bars.iter().map(count).sum(),
            bars: bars
                .iter()
                .filter(|bar| bar.attribute("data-count").is_none())
                .map(|bar| tooltip(bar))
                .collect(),
            failed: bars
                .iter()
                .filter(|bar| bar.attribute("class") == Some("task failed"))
                .map(|bar| tooltip(bar))
                .collect(),
            failed_tasks: bars.iter().filter(is_failed).map(count).sum(),
            legend: nodes(&document, |name| name == "legend")
                .iter()
                .flat_map(|legend| legend.descendants().filter_map(|node| node.text()))
                .map(Into::into)
                .collect(),
        }
    }
}

/// The elements whose class `class` accepts, in document order.
fn nodes<'a>(document: &'a Document<'a>, class: impl Fn(&str) -> bool) -> Vec<Node<'a, 'a>> {
    document.descendants().filter(|node| node.attribute("class").is_some_and(&class)).collect()
}

fn tooltip(bar: &Node<'_, '_>) -> String {
    let title = bar.children().find(|child| child.has_tag_name("title"));
    title.and_then(|title| title.text()).unwrap_or_default().to_string()
}

/// Runs `command` with `--timeline` into a fresh file, and returns what it printed and the picture
/// it drew (the file is removed). Panics if the run wrote no file, or a malformed one.
pub fn run_with_timeline(command: &mut Command) -> (Finished, Picture) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run_number = RUNS.fetch_add(1, Ordering::Relaxed);
    let name = format!("timeline-{}-{run_number}.svg", std::process::id());
    let path: PathBuf = std::env::temp_dir().join(name);
    let finished = run(command.arg("--timeline").arg(&path));
    let svg = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!("no timeline in {}: {error}\n{finished:#?}", path.display())
    });
    let _ = std::fs::remove_file(&path);
    let picture = Picture::parse(&svg);
    (finished, picture)
}

/// Runs the I/O example `binary` (with `args`, such as `--workers 3`) on nine sites of a look-alike
/// server at 20 ms: the tutorial's two pages four times each, and its 500 page among them. The
/// server holds its responses until `at_once` requests arrive together
/// ([`SitesServer::start_holding`]), so that every worker has a download to draw. Checks
/// the picture: its title names the example and 9 downloads, one bar per download, and the failed
/// one drawn alone, marked as failed, with its URL. Returns the picture, whose lanes the caller
/// checks.
pub fn downloads(binary: &str, args: &[&str], at_once: usize) -> Picture {
    let server = SitesServer::start_holding(Duration::from_millis(20), at_once)
        .expect("starting the server");
    let failing = server.fault_url(Fault::ServerError);
    let mut sites: Vec<String> = (0..8).map(|i| server.url_for(SITES[i % 2])).collect();
    sites.insert(3, failing.clone());
    let mut command = Command::new(binary);
    command.args(args).args(["--repeat", "1"]).args(&sites);
    let (finished, picture) = run_with_timeline(&mut command);
    assert_eq!(finished.code, Some(1), "one site failed: {finished:#?}");
    let example = example_name(binary);
    assert!(picture.title.starts_with(&format!("{example}: 9 downloads on ")), "{picture:#?}");
    assert_eq!(picture.tasks, 9, "one bar per download: {picture:#?}");
    assert_eq!(picture.failed_tasks, 1, "{picture:#?}");
    assert_eq!(picture.failed.len(), 1, "the failure is drawn alone: {picture:#?}");
    let failed = &picture.failed[0];
    assert!(failed.starts_with(&format!("{failing} (failed): ")), "{failed}");
    picture
}

/// Runs the CPU example `binary` (with `args`, such as `--workers 2`) on six calls of fib(20), and
/// checks the picture: its title names the example and the six calls, one bar per call, none
/// failed. Returns the picture, whose lanes the caller checks.
pub fn fib(binary: &str, args: &[&str]) -> Picture {
    let mut command = Command::new(binary);
    command.args(args).args(["--n", "20", "--repeat", "6"]);
    let (finished, picture) = run_with_timeline(&mut command);
    assert_eq!(finished.code, Some(0), "{finished:#?}");
    let example = example_name(binary);
    let title = format!("{example}: 6 calls of fib(20) on ");
    assert!(picture.title.starts_with(&title), "{picture:#?}");
    assert_eq!(picture.tasks, 6, "one bar per call: {picture:#?}");
    assert_eq!(picture.failed_tasks, 0, "{picture:#?}");
    picture
}

/// Runs the CPU example `binary` (with `args`, such as `--workers 2`) on fib(10) once and fib(35)
/// twice, and checks the values it computed, which its bars show: `fib(10) = 55`, `fib(35) =
/// 9227465`. Calls that long are never merged into a block, so every bar is drawn alone.
pub fn fib_values(binary: &str, args: &[&str]) {
    for (n, repeat, value) in [("10", 1, 55), ("35", 2, 9_227_465)] {
        let mut command = Command::new(binary);
        command.args(args).args(["--n", n, "--repeat", &repeat.to_string()]);
        let (finished, picture) = run_with_timeline(&mut command);
        assert_eq!(finished.code, Some(0), "{finished:#?}");
        assert_eq!(picture.bars.len(), repeat, "{picture:#?}");
        let shown = format!("fib({n}) = {value}: ");
        assert!(picture.bars.iter().all(|bar| bar.starts_with(&shown)), "{shown}{picture:#?}");
    }
}

/// The lane names `thread 1`... or `Process-1`... of `count` workers: `numbered("Process-", 2)`.
pub fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|k| format!("{prefix}{k}")).collect()
}

/// `.../io_threads` -> `io_threads`, the crate named in the picture's title.
fn example_name(binary: &str) -> String {
    let stem = std::path::Path::new(binary).file_stem().unwrap_or_default();
    stem.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "not well-formed")]
    fn a_malformed_picture_fails() {
        Picture::parse("<svg><rect></svg>");
    }
}
