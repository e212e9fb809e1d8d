//! The Markdown table, the bounds, and whether each CPU run got the cores it needed.

use std::fmt::Write;

use crate::guard::Outcome;
use crate::python::Interpreter;
use crate::{Language, Options, Row, Run};

/// Seconds of CPU that every process on the machine has used since boot (`/proc/stat`, counted in
/// USER_HZ, 100 a second on Linux), or None where there is no /proc.
pub fn busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<f64> =
        stat.lines().next()?.split_whitespace().skip(1).map_while(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    let busy: f64 =
        fields.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
    Some(busy / 100.0)
}

/// The cores that other processes left free during a run: the machine's cores less the CPU that
/// everything else used over the run's wall clock. None for a run shorter than [`SHORTEST_JUDGED`]:
/// /proc/stat counts in hundredths of a second, too coarse for it.
pub fn free_cores(busy_before: Option<f64>, outcome: &Outcome) -> Option<f64> {
    if outcome.wall < SHORTEST_JUDGED {
        return None;
    }
    let busy = busy_seconds()? - busy_before?;
    let others = (busy - outcome.cpu?).max(0.0);
    let wall = outcome.wall.max(0.01);
    Some((num_cpus::get() as f64 - others / wall).max(0.0))
}

/// The shortest run whose free cores are judged, in seconds.
const SHORTEST_JUDGED: f64 = 0.25;

/// A row's name for notes: `io_threads`, or `io_threads.py (CPython 3.11.7, GIL on)`.
pub fn who(row: &Row, interpreters: &[Interpreter]) -> String {
    match row.language {
        Language::Rust => row.name.to_string(),
        Language::Python(index) => format!("{} ({})", row.name, interpreters[index].label),
    }
}

/// The table, one row per run program, medians of the runs, and what it means above it.
pub fn render(
    rows: &[Row],
    interpreters: &[Interpreter],
    options: &Options,
    processes: usize,
) -> String {
    let cores = num_cpus::get();
    let sites = shared::tutorial::SITES.len() * options.repeat;
    let &Options { runs, latency, workers, limit, n, fib_repeat, .. } = options;
    let mut text = String::new();
    // Binaries from --bin-dir may be any build: only compare's own build is known to be release.
    let build = match &options.bin_dir {
        Some(dir) => format!("Rust binaries from {}", crate::printable(&dir.display().to_string())),
        None => "Rust release build".to_string(),
    };
    let _ = writeln!(
        text,
        "- {cores} cores, {build}, the median of {runs} run(s). Seconds: from start"
    );
    let _ = writeln!(
        text,
        "  to exit; printed: the run's own summary line; CPU s: user + system of the run and the"
    );
    let _ = writeln!(text, "  processes it waited for; peak: the largest peak RSS among them.");
    let _ = writeln!(
        text,
        "- I/O: {sites} downloads from one look-alike server in compare's process at {latency} ms;"
    );
    let _ = writeln!(
        text,
        "  {workers} threads, {processes} processes, io_async limit {limit} (io_asyncio.py: aiohttp's 100)."
    );
    let _ =
        writeln!(text, "- CPU: fib({n}) x {fib_repeat}; {workers} threads, {processes} processes.");
    for interpreter in interpreters {
        let _ = writeln!(
            text,
            "- Python `{}`: {}.",
            crate::printable(&interpreter.path.display().to_string()),
            interpreter.label
        );
    }
    let _ = writeln!(
        text,
        "\n| variant | mirrors | runs on | seconds | printed | speed-up | bound | ratio to bound | CPU s | peak | note |"
    );
    let _ = writeln!(text, "|---|---|---|---:|---:|---:|---|---:|---:|---:|---|");
    for row in rows {
        let runs_on = match row.language {
            Language::Rust => "Rust".to_string(),
            Language::Python(index) => interpreters[index].label.clone(),
        };
        let mirrors = if row.language == Language::Rust { row.script } else { "" };
        let name = row.name;
        let (Some(seconds), Some(printed)) =
            (median(row, |run| run.wall), median(row, |run| run.printed))
        else {
            let why = row.failure.as_deref().map_or(String::new(), one_line);
            let _ =
                writeln!(text, "| {name} | {mirrors} | {runs_on} | failed | | | | | | | {why} |");
            continue;
        };
        let sync = rows.iter().find(|other| {
            other.io == row.io && other.language == row.language && other.approach == "sync"
        });
        let sync_seconds = sync.and_then(|sync| median(sync, |run| run.wall));
        let speed_up =
            sync_seconds.map_or("–".to_string(), |sync| format!("{:.2}x", sync / seconds));
        let (bound, ratio) =
            match bound(row, sync.map(|sync| sync.name), sync_seconds, options, cores) {
                Some((bound, how)) if bound > 0.0 => {
                    (format!("{bound:.2} ({how})"), format!("{:.2}", seconds / bound))
                }
                Some((bound, how)) => (format!("{bound:.2} ({how})"), "–".to_string()),
                None => ("–".to_string(), "–".to_string()),
            };
        let cpu = median(row, |run| run.cpu.unwrap_or(f64::NAN)).filter(|cpu| cpu.is_finite());
        let cpu_text = cpu.map_or("–".to_string(), |cpu| format!("{cpu:.2}"));
        let peak = row.runs.iter().filter_map(|run| run.max_rss_kib).max();
        let peak = peak.map_or("–".to_string(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0));
        let note = if row.io { String::new() } else { cores_note(row, cores) };
        let _ = writeln!(
            text,
            "| {name} | {mirrors} | {runs_on} | {seconds:.2} | {printed:.2} | {speed_up} | {bound} | {ratio} | {cpu_text} | {peak} | {note} |"
        );
    }
    text
}

/// For a CPU row: how many cores it used, and a warning when a run found fewer cores free than it
/// needed (1 for a sequential or async run, its width up to the cores for a parallel one), or,
/// where that cannot be told, when it used less than 0.8 of a core: then its time says more about
/// the machine's load than about its approach.
fn cores_note(row: &Row, cores: usize) -> String {
    let needed = match row.approach {
        "threads" | "processes" => row.width.min(cores),
        _ => 1,
    } as f64;
    let used = median(row, |run| run.cpu.unwrap_or(f64::NAN) / run.wall.max(1e-9))
        .filter(|used| used.is_finite());
    let mut note = used.map_or(String::new(), |used| format!("used {used:.2} cores"));
    let least_free = row.runs.iter().filter_map(|run| run.free_cores).min_by(f64::total_cmp);
    if let Some(free) = least_free.filter(|free| *free < needed * 0.9) {
        let _ = write!(
            note,
            "; ⚠ needed {needed:.0} free, only {free:.2} were: other work ran, the time is not the approach's"
        );
    } else if let Some(used) = used.filter(|used| *used < 0.8) {
        // Too short for /proc/stat, or no /proc: a CPU-bound run keeps at least one core busy.
        let _ = write!(
            note,
            "; ⚠ got only {used:.2} of a core: other work ran, the time is not the approach's"
        );
    }
    note
}

/// The fastest `row` could be, in seconds, and how that figure is made. None for a sequential CPU
/// row, the yardstick, and for a parallel one when its sequential variant did not run.
pub fn bound(
    row: &Row,
    sync_name: Option<&str>,
    sync: Option<f64>,
    options: &Options,
    cores: usize,
) -> Option<(f64, String)> {
    if row.io {
        let sites = shared::tutorial::SITES.len() * options.repeat;
        let rounds = sites.div_ceil(row.width);
        let bound = rounds as f64 * options.latency as f64 / 1000.0;
        return Some((bound, format!("{rounds} x {} ms", options.latency)));
    }
    if row.approach == "sync" {
        return None;
    }
    // Each core computes whole calls of fib: 20 calls on 3 cores take 7 calls' time.
    let parallel = row.width.min(cores);
    let rounds = options.fib_repeat.div_ceil(parallel);
    let sync_name = sync_name?;
    let how = if rounds * parallel == options.fib_repeat {
        format!("{sync_name} / {parallel}")
    } else {
        format!("{sync_name} x {rounds}/{}", options.fib_repeat)
    };
    Some((sync? * rounds as f64 / options.fib_repeat as f64, how))
}

/// The median of one figure over `row`'s runs; None if it failed or never completed a run.
pub fn median(row: &Row, figure: impl Fn(&Run) -> f64) -> Option<f64> {
    if row.failure.is_some() || row.runs.is_empty() {
        return None;
    }
    let mut values: Vec<f64> = row.runs.iter().map(figure).collect();
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

/// A failure's text in one table cell: its first line and the last lines of the stderr it quotes.
fn one_line(failure: &str) -> String {
    let lines: Vec<&str> = failure.lines().filter(|line| !line.trim().is_empty()).collect();
    let mut shown: Vec<&str> = lines.iter().take(1).copied().collect();
    if lines.len() > 1 {
        shown.extend(&lines[lines.len().saturating_sub(3).max(1)..]);
    }
    let text = shown.join(" ⏎ ").replace('|', "\\|");
    let mut chars = text.chars();
    let short: String = chars.by_ref().take(400).collect();
    if chars.next().is_some() { format!("{short}…") } else { short }
}
