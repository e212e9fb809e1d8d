//! Runs the seven examples in release and prints a Markdown table: how long each took, its speed-up
//! over its family's sync variant, and how close it came to its bound, the best its approach allows.
//!
//!     cargo run --release -p shared --bin compare
//!     cargo run --release -p shared --bin compare -- --only cpu --runs 5
//!     cargo run --release -p shared --bin compare -- --latency 20 --only io_sync,io_async
//!     cargo run --release -p shared --bin compare -- --timelines .
//!
//! It builds the examples itself (`cargo build --release`), runs the I/O ones against their built-in
//! look-alike sites (`--local`) and passes every pool size and limit explicitly, so that the bounds
//! it computes match what ran. Bounds, for N downloads at latency L: one at a time N*L, on a pool of
//! W workers ceil(N/W)*L, with io_async's limit C ceil(N/C)*L. For the CPU examples: cpu_sync's time
//! shared out over the cores (or workers, if fewer) a parallel variant can use.
//!
//! With `--timelines DIR`, each example runs once more after the measured runs, with `--timeline
//! DIR/<crate>/timeline.svg`, so that drawing never counts in the table. From the workspace root,
//! `--timelines .` redraws the pictures kept in each crate's folder (`io_sync/timeline.svg`, ...).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use clap::builder::{PossibleValuesParser, RangedU64ValueParser};
use shared::report::{parse_computed, parse_downloaded};
use shared::server::DEFAULT_LATENCY;
use shared::tutorial::{EXAMPLES, Example, FIB_N, FIB_REPEAT, Family, SITE_REPEAT, SITES};

/// Runs the examples in release and compares each with its family's sync variant and its bound.
///
/// The table's seconds are each example's wall clock as compare sees it, from starting the process
/// to its exit (the median of --runs). The "printed" column is the example's own summary line, which
/// leaves out starting the process and, for the I/O examples, the look-alike server.
///
/// With --timelines DIR, each example then runs once more to draw its timeline into
/// `DIR/<crate>/timeline.svg` (a run not in the table); `--timelines .` run from the workspace root
/// redraws the pictures kept in the crates' folders.
#[derive(Parser)]
#[command(name = "compare")]
struct Options {
    /// The look-alike sites' delay before each response, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_LATENCY.as_millis() as u64, value_parser = RangedU64ValueParser::<u64>::new().range(1..))]
    latency: u64,
    /// How many times the I/O examples repeat the tutorial's two sites (80: 160 downloads)
    #[arg(long, value_name = "N", default_value_t = SITE_REPEAT, value_parser = positive())]
    repeat: usize,
    /// Which Fibonacci number the CPU examples compute
    #[arg(long, value_name = "N", default_value_t = FIB_N, value_parser = clap::value_parser!(u32).range(0..=93))]
    n: u32,
    /// How many times the CPU examples compute it
    #[arg(long, value_name = "N", default_value_t = FIB_REPEAT, value_parser = positive())]
    fib_repeat: usize,
    /// The thread pools' size (the examples' MAX_WORKERS)
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = positive())]
    workers: usize,
    /// The process pools' size [default: the number of CPUs, as in the examples]
    #[arg(long, value_name = "N", value_parser = positive())]
    processes: Option<usize>,
    /// How many downloads io_async runs at once
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = positive())]
    limit: usize,
    /// Run every example K times and show the medians
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = positive())]
    runs: usize,
    /// Run only these examples, or a family (io, cpu); speed-ups and CPU bounds need the sync variant
    #[arg(long, value_name = "NAME,...", value_delimiter = ',', value_parser = PossibleValuesParser::new(EXAMPLES.map(|example| example.name).into_iter().chain(["io", "cpu"])))]
    only: Vec<String>,
    /// Then draw each example's timeline in one more run, into `DIR/<crate>/timeline.svg`
    #[arg(long, value_name = "DIR")]
    timelines: Option<PathBuf>,
}

/// One example to run, and what its runs gave.
struct Variant {
    example: &'static Example,
    /// Its approach, from its name (`<family>_<approach>`): sync, threads, async or processes.
    approach: &'static str,
    /// Its command line.
    args: Vec<String>,
    /// How many downloads or calls of fib it runs at once: 1, its workers or its limit.
    width: usize,
    /// Seconds of each run so far: (wall clock, printed).
    runs: Vec<(f64, f64)>,
    failed: bool,
}

fn main() -> anyhow::Result<ExitCode> {
    let options = Options::parse();
    let processes = options.processes.unwrap_or_else(num_cpus::get);
    let selected: Vec<&'static Example> = EXAMPLES
        .iter()
        .filter(|example| {
            let family = match example.family {
                Family::Io => "io",
                Family::Cpu => "cpu",
            };
            options.only.is_empty()
                || options.only.iter().any(|only| only == example.name || only == family)
        })
        .collect();
    let bin_dir = build(&selected)?;
    let mut variants: Vec<Variant> =
        selected.into_iter().map(|example| variant(example, &options, processes)).collect();
    for round in 1..=options.runs {
        for variant in variants.iter_mut().filter(|variant| !variant.failed) {
            let name = variant.example.name;
            eprint!("{name}, run {round} of {}: ", options.runs);
            match run(&bin_dir, variant, &options, None) {
                Ok((wall, printed)) => {
                    eprintln!("{wall:.2} s (it printed {printed:.2} s)");
                    variant.runs.push((wall, printed));
                }
                Err(error) => {
                    eprintln!("FAILED\n{name} failed: {error:#}\n");
                    variant.failed = true;
                }
            }
        }
    }
    let mut undrawn = Vec::new();
    if let Some(dir) = &options.timelines {
        for variant in variants.iter().filter(|variant| !variant.failed) {
            let name = variant.example.name;
            eprint!("{name}, drawing its timeline: ");
            match draw_timeline(&bin_dir, variant, &options, dir) {
                Ok((wall, path)) => eprintln!("{wall:.2} s, drawn into {}", path.display()),
                Err(error) => {
                    eprintln!("FAILED\n{name}'s timeline failed: {error:#}\n");
                    undrawn.push(name);
                }
            }
        }
    }
    print_table(&variants, &options, processes);
    if variants.iter().any(|variant| variant.example.name == "cpu_processes" && !variant.failed) {
        print_pool_startup(&bin_dir, processes, options.runs);
    }
    let failed: Vec<&str> = variants
        .iter()
        .filter(|variant| variant.failed)
        .map(|variant| variant.example.name)
        .chain(undrawn)
        .collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("compare: {} failed (see above): {}", failed.len(), failed.join(", "));
    Ok(ExitCode::FAILURE)
}

/// Prints how long the process pool takes to start `processes` workers (cpu_processes's, which
/// have no set-up), the median of `runs` starts: the cost the processes variants pay over threads.
fn print_pool_startup(bin_dir: &Path, processes: usize, runs: usize) {
    let program = bin_dir.join(format!("cpu_processes{}", std::env::consts::EXE_SUFFIX));
    let mut starts = Vec::new();
    for _ in 0..runs {
        match shared::pool::measure_startup(&program, processes) {
            Ok(startup) => starts.push(startup.as_secs_f64() * 1000.0),
            Err(error) => return eprintln!("compare: could not start a process pool: {error:#}"),
        }
    }
    starts.sort_by(f64::total_cmp);
    let median = starts[starts.len() / 2];
    let per_worker = median / processes as f64;
    println!(
        "\nProcess pool start-up ({processes} workers of cpu_processes, median of {runs}): \
         {median:.1} ms, {per_worker:.1} ms per worker."
    );
}

/// Builds the examples with `cargo build --release` in the same target directory as this program,
/// and returns the folder that holds their binaries.
fn build(examples: &[&Example]) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find where compare runs from")?;
    // compare runs from <target>/<profile>/compare; the examples go to <target>/release.
    let target_dir =
        exe.parent().and_then(Path::parent).context("compare is not in a target dir")?;
    let workspace =
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("shared is in the workspace");
    // Cargo sets $CARGO for the programs it runs; run on its own, compare uses the cargo on the PATH.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    // From the workspace, so that cargo reads its .cargo/config.toml (the examples' build flags).
    command.current_dir(workspace).args(["build", "--release", "--bins", "--target-dir"]);
    command.arg(target_dir);
    for example in examples {
        command.args(["-p", example.name]);
    }
    eprintln!("Building the examples in release: {command:?}");
    let status =
        command.stdout(Stdio::from(std::io::stderr())).status().context("cannot run cargo")?;
    if !status.success() {
        bail!("building the examples failed ({status})");
    }
    Ok(target_dir.join("release"))
}

/// The command line that runs `example` as the options say, and how many jobs it runs at once.
fn variant(example: &'static Example, options: &Options, processes: usize) -> Variant {
    let mut args: Vec<String> = match example.family {
        Family::Io => vec!["--local".into(), "--latency".into(), options.latency.to_string()],
        Family::Cpu => vec!["--n".into(), options.n.to_string()],
    };
    let repeat = match example.family {
        Family::Io => options.repeat,
        Family::Cpu => options.fib_repeat,
    };
    args.extend(["--repeat".into(), repeat.to_string()]);
    let approach = example.name.rsplit_once('_').map_or("", |(_, approach)| approach);
    let knob = match approach {
        "threads" => Some(("--workers", options.workers)),
        "async" => Some(("--limit", options.limit)),
        "processes" => Some(("--workers", processes)),
        _ => None,
    };
    let width = knob.map_or(1, |(_, width)| width);
    if let Some((flag, value)) = knob {
        args.extend([flag.into(), value.to_string()]);
    }
    Variant { example, approach, args, width, runs: Vec::new(), failed: false }
}

/// Runs `variant` once more with `--timeline DIR/<crate>/timeline.svg`, making the crate's folder
/// if needed. Returns the run's wall clock and the picture's path.
fn draw_timeline(
    bin_dir: &Path,
    variant: &Variant,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<(f64, PathBuf)> {
    let folder = dir.join(variant.example.name);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot make {}", folder.display()))?;
    let path = folder.join("timeline.svg");
    let (wall, _) = run(bin_dir, variant, options, Some(&path))?;
    Ok((wall, path))
}

/// Runs `variant` once (with `--timeline FILE` if given) and returns its seconds: the wall clock
/// from spawn to exit, and the figure its summary line printed. A failure names the command and
/// shows the end of its stderr.
fn run(
    bin_dir: &Path,
    variant: &Variant,
    options: &Options,
    timeline: Option<&Path>,
) -> anyhow::Result<(f64, f64)> {
    let name = variant.example.name;
    let program = bin_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut args: Vec<&OsStr> = variant.args.iter().map(OsStr::new).collect();
    if let Some(path) = timeline {
        args.extend([OsStr::new("--timeline"), path.as_os_str()]);
    }
    let shown: Vec<_> = args.iter().map(|arg| arg.to_string_lossy()).collect();
    let command_line = format!("{} {}", program.display(), shown.join(" "));
    let start = Instant::now();
    let output = Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {command_line}"))?;
    let wall = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = if stderr.trim().is_empty() { "(empty)".to_string() } else { tail(&stderr, 20) };
    if !output.status.success() {
        bail!("`{command_line}` failed ({}); the end of its stderr:\n{stderr}", output.status);
    }
    let last_line = stdout.lines().last().unwrap_or_default();
    let (printed, expected) = match variant.example.family {
        Family::Io => {
            let sites = SITES.len() * options.repeat;
            (parse_downloaded(last_line, sites), format!("Downloaded {sites} sites in S seconds"))
        }
        Family::Cpu => (parse_computed(last_line), "Computed in S seconds".to_string()),
    };
    let Some(printed) = printed else {
        bail!(
            "`{command_line}` succeeded but its stdout did not end with the summary line \
             `{expected}` (its last line: {last_line:?}); the end of its stderr:\n{stderr}"
        );
    };
    Ok((wall, printed))
}

/// Prints the Markdown table, one row per variant, medians of the runs.
fn print_table(variants: &[Variant], options: &Options, processes: usize) {
    let cores = num_cpus::get();
    let sites = SITES.len() * options.repeat;
    let &Options { runs, latency, workers, limit, n, fib_repeat, .. } = options;
    println!("- {cores} cores, release build, the median of {runs} run(s). Seconds: from start");
    println!("  to exit as compare sees it; printed: the example's own summary line.");
    println!(
        "- I/O: {sites} downloads from the look-alike sites at {latency} ms; {workers} threads,"
    );
    println!("  {processes} processes, io_async limit {limit}.");
    println!("- CPU: fib({n}) x {fib_repeat}; {workers} threads, {processes} processes.\n");
    println!("| variant | mirrors | seconds | printed | speed-up | bound | ratio to bound |");
    println!("|---|---|---:|---:|---:|---|---:|");
    for variant in variants {
        let (name, script) = (variant.example.name, variant.example.script);
        let (Some(seconds), Some(printed)) =
            (median(variant, |run| run.0), median(variant, |run| run.1))
        else {
            println!("| {name} | {script} | failed | | | | |");
            continue;
        };
        let sync = variants
            .iter()
            .find(|other| {
                other.example.family == variant.example.family && other.approach == "sync"
            })
            .and_then(|sync| median(sync, |run| run.0));
        let speed_up = sync.map_or("–".to_string(), |sync| format!("{:.2}x", sync / seconds));
        let (bound, ratio) = match bound(variant, sync, options, cores) {
            Some((bound, how)) => {
                (format!("{bound:.2} ({how})"), format!("{:.2}", seconds / bound))
            }
            None => ("–".to_string(), "–".to_string()),
        };
        println!(
            "| {name} | {script} | {seconds:.2} | {printed:.2} | {speed_up} | {bound} | {ratio} |"
        );
    }
}

/// The fastest `variant` could be, in seconds, and how that figure is made. None for cpu_sync, the
/// CPU examples' yardstick, and for a parallel CPU variant when cpu_sync did not run.
fn bound(
    variant: &Variant,
    cpu_sync: Option<f64>,
    options: &Options,
    cores: usize,
) -> Option<(f64, String)> {
    match variant.example.family {
        Family::Io => {
            let sites = SITES.len() * options.repeat;
            let rounds = sites.div_ceil(variant.width);
            Some((
                rounds as f64 * options.latency as f64 / 1000.0,
                format!("{rounds} x {} ms", options.latency),
            ))
        }
        Family::Cpu if variant.approach == "sync" => None,
        Family::Cpu => {
            // Each core computes whole calls of fib: 20 calls on 3 cores take 7 calls' time.
            let parallel = variant.width.min(cores);
            let rounds = options.fib_repeat.div_ceil(parallel);
            let how = if rounds * parallel == options.fib_repeat {
                format!("cpu_sync / {parallel}")
            } else {
                format!("cpu_sync x {rounds}/{}", options.fib_repeat)
            };
            Some((cpu_sync? * rounds as f64 / options.fib_repeat as f64, how))
        }
    }
}

/// The median of one figure over `variant`'s runs; None if it never completed a run.
fn median(variant: &Variant, figure: fn(&(f64, f64)) -> f64) -> Option<f64> {
    if variant.failed || variant.runs.is_empty() {
        return None;
    }
    let mut values: Vec<f64> = variant.runs.iter().map(figure).collect();
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A count of at least 1.
fn positive() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(args: &[&str]) -> Options {
        Options::parse_from(std::iter::once("compare").chain(args.iter().copied()))
    }

    fn example(name: &str) -> &'static Example {
        EXAMPLES.iter().find(|example| example.name == name).unwrap()
    }

    #[test]
    fn every_pool_size_and_limit_is_passed_explicitly() {
        let options = options(&["--workers", "3", "--limit", "7", "--latency", "20"]);
        let args = |name| variant(example(name), &options, 4).args.join(" ");
        assert_eq!(args("io_sync"), "--local --latency 20 --repeat 80");
        assert_eq!(args("io_threads"), "--local --latency 20 --repeat 80 --workers 3");
        assert_eq!(args("io_async"), "--local --latency 20 --repeat 80 --limit 7");
        assert_eq!(args("io_processes"), "--local --latency 20 --repeat 80 --workers 4");
        assert_eq!(args("cpu_sync"), "--n 35 --repeat 20");
        assert_eq!(args("cpu_threads"), "--n 35 --repeat 20 --workers 3");
        assert_eq!(args("cpu_processes"), "--n 35 --repeat 20 --workers 4");
    }

    #[test]
    fn bounds_follow_the_approach() {
        let options = options(&["--workers", "3"]);
        let bound_of = |name, cpu_sync| {
            let (seconds, how) =
                bound(&variant(example(name), &options, 2), cpu_sync, &options, 2)?;
            Some((format!("{seconds:.3}"), how))
        };
        let expect = |seconds: &str, how: &str| Some((seconds.to_string(), how.to_string()));
        assert_eq!(bound_of("io_sync", None), expect("14.400", "160 x 90 ms"));
        assert_eq!(bound_of("io_threads", None), expect("4.860", "54 x 90 ms"));
        assert_eq!(bound_of("io_async", None), expect("0.180", "2 x 90 ms"));
        assert_eq!(bound_of("io_processes", None), expect("7.200", "80 x 90 ms"));
        assert_eq!(bound_of("cpu_sync", Some(0.4)), None);
        assert_eq!(bound_of("cpu_threads", None), None);
        assert_eq!(bound_of("cpu_threads", Some(0.4)), expect("0.200", "cpu_sync / 2"));
        let options = Options { fib_repeat: 21, ..options };
        let cpu = variant(example("cpu_threads"), &options, 2);
        assert_eq!(bound(&cpu, Some(2.1), &options, 2).unwrap().1, "cpu_sync x 11/21");
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let mut variant = variant(example("cpu_sync"), &options(&[]), 2);
        variant.runs = vec![(3.0, 0.0), (1.0, 0.0), (2.0, 0.0), (10.0, 0.0)];
        assert_eq!(median(&variant, |run| run.0), Some(2.5));
        variant.runs.pop();
        assert_eq!(median(&variant, |run| run.0), Some(2.0));
    }

    /// One test runs every fake example, one after another: a script written and run while another
    /// test thread starts a process can fail with "text file busy".
    #[cfg(unix)]
    #[test]
    fn a_failing_or_silent_example_is_an_error_that_names_it() {
        use std::os::unix::fs::PermissionsExt;
        let bin_dir = std::env::temp_dir().join(format!("compare-test-{}", std::process::id()));
        std::fs::create_dir_all(&bin_dir).unwrap();
        let options = options(&[]);
        let cpu_sync = variant(example("cpu_sync"), &options, 2);
        let run_script = |script: &str| {
            let path = bin_dir.join("cpu_sync");
            std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            run(&bin_dir, &cpu_sync, &options, None)
        };
        let (_, printed) = run_script("echo 'Computed in 0.25 seconds'").unwrap();
        assert_eq!(printed, 0.25);
        let error =
            run_script("echo 'Computed in 0.25 seconds'; echo boom >&2; exit 1").unwrap_err();
        let error = format!("{error:#}");
        assert!(
            error.contains("cpu_sync --n 35 --repeat 20` failed") && error.contains("boom"),
            "{error}"
        );
        let error = format!("{:#}", run_script("echo 'Read 276 bytes'").unwrap_err());
        assert!(
            error.contains("did not end with the summary line") && error.contains("Read 276"),
            "{error}"
        );
        // The picture run: one more run, told where to draw, into a folder made for it. (A first
        // run installs a script that notes its arguments.)
        let seen = bin_dir.join("args.txt");
        run_script(&format!("echo \"$@\" > {}; echo 'Computed in 0.25 seconds'", seen.display()))
            .unwrap();
        let pictures = bin_dir.join("pictures");
        let (_, path) = draw_timeline(&bin_dir, &cpu_sync, &options, &pictures).unwrap();
        assert_eq!(path, pictures.join("cpu_sync").join("timeline.svg"));
        let args = std::fs::read_to_string(&seen).unwrap();
        assert_eq!(args.trim(), format!("--n 35 --repeat 20 --timeline {}", path.display()));
        assert!(pictures.join("cpu_sync").is_dir());
        std::fs::remove_dir_all(&bin_dir).unwrap();
    }
}
