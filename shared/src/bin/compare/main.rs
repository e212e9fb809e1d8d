//! Runs the seven examples in release, and with `--python` the tutorial's own scripts beside them,
//! and prints a Markdown table: how long each took, its speed-up over its family's sequential
//! variant, how close it came to its bound, the CPU seconds it used and its peak memory.
//!
//!     cargo run --release -p shared --bin compare
//!     cargo run --release -p shared --bin compare -- --only cpu --runs 5
//!     cargo run --release -p shared --bin compare -- --latency 20 --only io_sync,io_async
//!     cargo run --release -p shared --bin compare -- --python python3 --tutorial ~/materials/python-concurrency
//!     cargo run --release -p shared --bin compare -- --timelines .
//!
//! It builds the examples itself (`cargo build --release`, or takes them from `--bin-dir`), starts
//! one look-alike server in its own process that every I/O run downloads from, Rust and Python
//! alike, and passes every pool size and limit explicitly, so that the bounds it computes match
//! what ran. Bounds, for N downloads at latency L: one at a time N*L, on a pool of W workers
//! ceil(N/W)*L, with a limit C ceil(N/C)*L. For CPU: the sequential variant's time shared out over
//! the cores (or workers, if fewer) a parallel variant can use.
//!
//! Each run goes through a guard ([`guard`]) that kills the run's whole process group at the time
//! limit or when compare dies, and measures what the run used.

mod guard;
mod python;
mod runs;
mod table;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use clap::builder::{PossibleValuesParser, RangedU64ValueParser};
use python::{Interpreter, SCRIPTS};
use runs::{draw_timeline, run, rust_row};
// What compare takes from the library, all in one place.
use shared::pool::measure_startup;
use shared::report::{parse_computed, parse_downloaded};
use shared::server::{DEFAULT_LATENCY, SitesServer};
use shared::tutorial::{EXAMPLES, FIB_N, FIB_REPEAT, SITE_REPEAT, SITES, example_for};

/// Runs the examples in release, and the tutorial's Python scripts with --python, and compares
/// each with its family's sequential variant and its bound.
///
/// The table's seconds are each run's wall clock from starting its process to its exit (the median
/// of --runs). "printed" is the run's own summary line, which leaves out starting the process.
/// "CPU s" is user plus system time of the run and every process it waited for; "peak" is the
/// largest peak resident memory among them. Every I/O run downloads from one look-alike server in
/// compare's process.
///
/// With --timelines DIR, each Rust example then runs once more to draw its timeline into
/// `DIR/<crate>/timeline.svg` (a run not in the table); `--timelines .` run from the workspace root
/// redraws the pictures kept in the crates' folders.
#[derive(Parser)]
#[command(name = "compare")]
pub struct Options {
    /// The look-alike sites' delay before each response, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_LATENCY.as_millis() as u64, value_parser = RangedU64ValueParser::<u64>::new().range(0..=86_400_000))]
    latency: u64,
    /// How many times the I/O examples repeat the tutorial's two sites (80: 160 downloads)
    #[arg(long, value_name = "N", default_value_t = SITE_REPEAT, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    repeat: usize,
    /// Which Fibonacci number the CPU examples compute
    #[arg(long, value_name = "N", default_value_t = FIB_N, value_parser = clap::value_parser!(u32).range(0..=93))]
    n: u32,
    /// How many times the CPU examples compute it
    #[arg(long, value_name = "N", default_value_t = FIB_REPEAT, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    fib_repeat: usize,
    /// The thread pools' size (the examples' and io_threads.py's, cpu_threads.py's MAX_WORKERS)
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1000))]
    workers: usize,
    /// The process pools' size [default: the number of CPUs, as in the examples]
    #[arg(long, value_name = "N", value_parser = RangedU64ValueParser::<usize>::new().range(1..=1000))]
    processes: Option<usize>,
    /// How many downloads io_async runs at once (io_asyncio.py keeps aiohttp's 100)
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    limit: usize,
    /// Run everything K times, interleaved, and show the medians
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1000))]
    runs: usize,
    /// Run only these, for both languages: crates, scripts (cpu_asyncio.py) or a family (io, cpu)
    #[arg(long, value_name = "NAME,...", value_delimiter = ',', value_parser = PossibleValuesParser::new(EXAMPLES.map(|example| example.name).into_iter().chain(SCRIPTS.map(|script| script.0)).chain(["io", "cpu"])))]
    only: Vec<String>,
    /// Also run the tutorial's scripts with this Python (repeatable: --python python3.11 --python python3.14t)
    #[arg(long, value_name = "PATH", requires = "tutorial")]
    python: Vec<PathBuf>,
    /// The reader's checkout of realpython/materials' python-concurrency folder [--python: python3]
    #[arg(long, value_name = "DIR")]
    tutorial: Option<PathBuf>,
    /// Take the examples already built in DIR (target/release) instead of building them; those not
    /// there are left out, with a note
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// Stop any run that takes longer, killing all its processes, and report it as failed
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = RangedU64ValueParser::<u64>::new().range(1..=86_400))]
    time_limit: u64,
    /// Then draw each example's timeline in one more run, into `DIR/<crate>/timeline.svg`
    #[arg(long, value_name = "DIR")]
    timelines: Option<PathBuf>,
}

/// Who runs a row: a Rust example, or a script under the `--python` of this index.
#[derive(Clone, Copy, PartialEq)]
pub enum Language {
    Rust,
    Python(usize),
}

/// One row: a program to run, and what its runs gave.
pub struct Row {
    /// The crate (`io_threads`) or the script (`io_threads.py`).
    pub name: &'static str,
    /// The tutorial script it is or mirrors.
    pub script: &'static str,
    pub language: Language,
    pub io: bool,
    /// sync, threads, async or processes.
    pub approach: &'static str,
    program: PathBuf,
    args: Vec<String>,
    /// How many downloads or calls of fib it runs at once: 1, its workers or its limit.
    pub width: usize,
    pub runs: Vec<Run>,
    /// Why it failed, shown in its row.
    pub failure: Option<String>,
}

/// One run's figures.
pub struct Run {
    pub wall: f64,
    pub printed: f64,
    pub cpu: Option<f64>,
    pub max_rss_kib: Option<u64>,
    /// Cores no other process used during the run, when the machine says (/proc/stat).
    pub free_cores: Option<f64>,
}

/// Set when a note could not be written to stderr: compare then ends with status 1.
static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes a line to stderr; a failure to write is remembered, never a panic.
macro_rules! note {
    ($($arg:tt)*) => {{
        if writeln!(std::io::stderr(), $($arg)*).is_err() {
            STDERR_FAILED.store(true, Ordering::SeqCst);
        }
    }};
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(guard::GUARD_FLAG) {
        return guard::serve(&args[2..]);
    }
    let options = Options::parse();
    let status = match compare(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            note!("compare: {error:#}");
            ExitCode::FAILURE
        }
    };
    if STDERR_FAILED.load(Ordering::SeqCst) { ExitCode::FAILURE } else { status }
}

/// The whole comparison; true when every run succeeded and everything was written.
fn compare(options: &Options) -> anyhow::Result<bool> {
    let processes = options.processes.unwrap_or_else(num_cpus::get);
    let mut pythons = options.python.clone();
    if options.tutorial.is_some() && pythons.is_empty() {
        pythons.push("python3".into());
    }
    // Every interpreter answers before anything is built or started.
    let interpreters: Vec<Interpreter> =
        pythons.iter().map(|path| python::probe(path)).collect::<anyhow::Result<_>>()?;
    let selected = |script: &str, io: bool| {
        let crate_name = example_for(script).map(|example| example.name);
        options.only.is_empty()
            || options.only.iter().any(|only| {
                only == script
                    || Some(only.as_str()) == crate_name
                    || only == ["cpu", "io"][io as usize]
            })
    };
    let scripts: Vec<_> =
        SCRIPTS.into_iter().filter(|&(script, io, _)| selected(script, io)).collect();
    let crates: Vec<&str> = scripts
        .iter()
        .filter_map(|(script, ..)| example_for(script))
        .map(|example| example.name)
        .collect();
    let bin_dir = match &options.bin_dir {
        Some(dir) => dir.clone(),
        None => build(&crates)?,
    };
    let server = if scripts.iter().any(|&(_, io, _)| io) {
        let server = SitesServer::start(Duration::from_millis(options.latency))
            .context("cannot start the look-alike sites on 127.0.0.1")?;
        note!("Look-alike sites on {}, {} ms per response", server.base_url(), options.latency);
        Some(server)
    } else {
        None
    };
    let urls =
        SITES.map(|site| server.as_ref().map_or(String::new(), |server| server.url_for(site)));
    let temp = std::env::temp_dir().join(format!("compare-{}", std::process::id()));
    std::fs::create_dir_all(&temp).with_context(|| format!("cannot make {}", temp.display()))?;
    let result = compare_in(options, &interpreters, &scripts, &bin_dir, &urls, &temp, processes);
    let _ = std::fs::remove_dir_all(&temp);
    result
}

fn compare_in(
    options: &Options,
    interpreters: &[Interpreter],
    scripts: &[(&'static str, bool, &'static str)],
    bin_dir: &Path,
    urls: &[String; 2],
    temp: &Path,
    processes: usize,
) -> anyhow::Result<bool> {
    let prepared = match &options.tutorial {
        Some(tutorial) => python::prepare(tutorial, temp, urls, options, processes)?,
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    for &(script, io, approach) in scripts {
        if let Some(example) = example_for(script) {
            let program = bin_dir.join(format!("{}{}", example.name, std::env::consts::EXE_SUFFIX));
            if program.is_file() {
                rows.push(rust_row(
                    example.name,
                    script,
                    io,
                    approach,
                    program,
                    options,
                    urls,
                    processes,
                ));
            } else {
                note!("{} is not built in {}: left out", example.name, bin_dir.display());
            }
        }
        let found = prepared.iter().find(|(name, _)| *name == script);
        if found.is_none() && !interpreters.is_empty() {
            note!("{script} is not in the --tutorial folder: left out");
        }
        for (index, interpreter) in interpreters.iter().enumerate() {
            let Some((_, path)) = found else { continue };
            let width = match approach {
                "threads" => options.workers,
                "async" if io => python::AIOHTTP_LIMIT,
                "processes" => processes,
                _ => 1,
            };
            let (program, args, failure) = match path {
                Ok(path) => (interpreter.path.clone(), vec![path.display().to_string()], None),
                Err(why) => (PathBuf::new(), Vec::new(), Some(why.clone())),
            };
            let language = Language::Python(index);
            rows.push(Row {
                name: script,
                script,
                language,
                io,
                approach,
                program,
                args,
                width,
                runs: Vec::new(),
                failure,
            });
        }
    }
    if rows.is_empty() {
        bail!(
            "nothing to run: no selected example is built in {} and no script was found",
            bin_dir.display()
        );
    }
    let limit = Duration::from_secs(options.time_limit);
    let report = temp.join("run.report");
    for round in 1..=options.runs {
        for row in rows.iter_mut().filter(|row| row.failure.is_none()) {
            let who = table::who(row, interpreters);
            match run(row, options, limit, &report, None) {
                Ok(run) => {
                    note!(
                        "{who}, run {round} of {}: {:.2} s (it printed {:.2} s)",
                        options.runs,
                        run.wall,
                        run.printed
                    );
                    row.runs.push(run);
                }
                Err(error) => {
                    note!("{who}, run {round} of {}: FAILED\n{error:#}\n", options.runs);
                    row.failure = Some(format!("{error:#}"));
                }
            }
        }
    }
    let mut undrawn = Vec::new();
    if let Some(dir) = &options.timelines {
        for row in rows.iter().filter(|row| row.failure.is_none() && row.language == Language::Rust)
        {
            match draw_timeline(row, options, limit, &report, dir) {
                Ok(path) => note!("{}: timeline drawn into {}", row.name, path.display()),
                Err(error) => {
                    note!("{}'s timeline FAILED\n{error:#}\n", row.name);
                    undrawn.push(row.name);
                }
            }
        }
    }
    let mut text = table::render(&rows, interpreters, options, processes);
    if rows.iter().any(|row| row.name == "cpu_processes" && !row.runs.is_empty()) {
        text += &pool_startup(bin_dir, processes, options.runs);
    }
    if let Err(error) =
        std::io::stdout().write_all(text.as_bytes()).and_then(|()| std::io::stdout().flush())
    {
        note!("compare: cannot write the table to stdout: {error}");
        return Ok(false);
    }
    let failed: Vec<String> = rows
        .iter()
        .filter(|row| row.failure.is_some())
        .map(|row| table::who(row, interpreters))
        .chain(undrawn.iter().map(|name| format!("{name}'s timeline")))
        .collect();
    if !failed.is_empty() {
        note!("compare: {} failed (see above): {}", failed.len(), failed.join(", "));
    }
    Ok(failed.is_empty())
}

/// How long the process pool takes to start `processes` workers of cpu_processes, the median of
/// `runs` starts: the cost the processes variants pay over threads.
fn pool_startup(bin_dir: &Path, processes: usize, runs: usize) -> String {
    let program = bin_dir.join(format!("cpu_processes{}", std::env::consts::EXE_SUFFIX));
    let mut starts = Vec::new();
    for _ in 0..runs {
        match measure_startup(&program, processes) {
            Ok(startup) => starts.push(startup.as_secs_f64() * 1000.0),
            Err(error) => {
                note!("compare: could not start a process pool: {error:#}");
                return String::new();
            }
        }
    }
    starts.sort_by(f64::total_cmp);
    let median = starts[starts.len() / 2];
    let per_worker = median / processes as f64;
    format!(
        "\nProcess pool start-up ({processes} workers of cpu_processes, median of {runs}): \
         {median:.1} ms, {per_worker:.1} ms per worker.\n"
    )
}

/// Builds the examples with `cargo build --release` in the same target directory as this program,
/// and returns the folder that holds their binaries.
fn build(crates: &[&str]) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find where compare runs from")?;
    // compare runs from <target>/<profile>/compare; the examples go to <target>/release.
    let target_dir =
        exe.parent().and_then(Path::parent).context("compare is not in a target dir")?;
    if crates.is_empty() {
        return Ok(target_dir.join("release"));
    }
    let workspace =
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("shared is not in a workspace")?;
    // Cargo sets $CARGO for the programs it runs; run on its own, compare uses the cargo on the PATH.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    // From the workspace, so that cargo reads its .cargo/config.toml (the examples' build flags).
    command.current_dir(workspace).args(["build", "--release", "--bins", "--target-dir"]);
    command.arg(target_dir);
    for name in crates {
        command.args(["-p", name]);
    }
    note!("Building the examples in release: {command:?}");
    let status = command
        .stdout(Stdio::from(std::io::stderr()))
        .stdin(Stdio::null())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building the examples failed ({status})");
    }
    Ok(target_dir.join("release"))
}

/// `text` with control characters escaped, so that a script's output cannot forge lines or colour
/// the terminal (line breaks kept).
pub fn printable(text: &str) -> String {
    shared::output::escaped_lines(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(args: &[&str]) -> Options {
        Options::parse_from(std::iter::once("compare").chain(args.iter().copied()))
    }

    fn row(name: &'static str, options: &Options) -> Row {
        let example = EXAMPLES.iter().find(|example| example.name == name).unwrap();
        let approach = name.rsplit_once('_').unwrap().1;
        let io = name.starts_with("io");
        let urls = ["http://a".to_string(), "http://b".to_string()];
        rust_row(name, example.script, io, approach, PathBuf::new(), options, &urls, 4)
    }

    #[test]
    fn every_pool_size_and_limit_is_passed_explicitly() {
        let options = options(&["--workers", "3", "--limit", "7", "--latency", "0"]);
        let args = |name| row(name, &options).args.join(" ");
        assert_eq!(args("io_sync"), "http://a http://b --repeat 80");
        assert_eq!(args("io_threads"), "http://a http://b --repeat 80 --workers 3");
        assert_eq!(args("io_async"), "http://a http://b --repeat 80 --limit 7");
        assert_eq!(args("io_processes"), "http://a http://b --repeat 80 --workers 4");
        assert_eq!(args("cpu_sync"), "--n 35 --repeat 20");
        assert_eq!(args("cpu_threads"), "--n 35 --repeat 20 --workers 3");
        assert_eq!(args("cpu_processes"), "--n 35 --repeat 20 --workers 4");
    }

    #[test]
    fn bounds_follow_the_approach() {
        let options = options(&["--workers", "3"]);
        let bound_of = |name, sync| {
            let (seconds, how) =
                table::bound(&row(name, &options), Some("cpu_sync"), sync, &options, 2)?;
            Some((format!("{seconds:.3}"), how))
        };
        let expect = |seconds: &str, how: &str| Some((seconds.to_string(), how.to_string()));
        assert_eq!(bound_of("io_sync", None), expect("14.400", "160 x 90 ms"));
        assert_eq!(bound_of("io_threads", None), expect("4.860", "54 x 90 ms"));
        assert_eq!(bound_of("io_async", None), expect("0.180", "2 x 90 ms"));
        assert_eq!(bound_of("io_processes", None), expect("3.600", "40 x 90 ms"));
        assert_eq!(bound_of("cpu_sync", Some(0.4)), None);
        assert_eq!(bound_of("cpu_threads", None), None);
        assert_eq!(bound_of("cpu_threads", Some(0.4)), expect("0.200", "cpu_sync / 2"));
        let options = Options { fib_repeat: 21, ..options };
        let cpu = row("cpu_threads", &options);
        assert_eq!(
            table::bound(&cpu, Some("cpu_sync"), Some(2.1), &options, 2).unwrap().1,
            "cpu_sync x 11/21"
        );
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let mut row = row("cpu_sync", &options(&[]));
        let run = |wall| Run { wall, printed: 0.0, cpu: None, max_rss_kib: None, free_cores: None };
        row.runs = vec![run(3.0), run(1.0), run(2.0), run(10.0)];
        assert_eq!(table::median(&row, |run| run.wall), Some(2.5));
        row.runs.pop();
        assert_eq!(table::median(&row, |run| run.wall), Some(2.0));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\x1b[31mb\rc\nd"), "a\\u{1b}[31mb\\rc\nd");
    }
}
