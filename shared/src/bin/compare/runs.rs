//! One row's command line, and one guarded run of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::guard::{self, Ended, Outcome};
use crate::{Language, Options, Row, Run, printable, python, table};
use crate::{SITES, parse_computed, parse_downloaded};

/// The command line that runs a Rust example as the options say, against compare's server.
#[allow(clippy::too_many_arguments)]
pub fn rust_row(
    name: &'static str,
    script: &'static str,
    io: bool,
    approach: &'static str,
    program: PathBuf,
    options: &Options,
    urls: &[String; 2],
    processes: usize,
) -> Row {
    let (mut args, repeat) = if io {
        (urls.to_vec(), options.repeat)
    } else {
        (vec!["--n".into(), options.n.to_string()], options.fib_repeat)
    };
    args.extend(["--repeat".into(), repeat.to_string()]);
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
    Row {
        name,
        script,
        language: Language::Rust,
        io,
        approach,
        program,
        args,
        width,
        runs: Vec::new(),
        failure: None,
    }
}

/// Runs `row` once under a guard (with `--timeline FILE` if given) and returns its figures. A
/// failure says how it ended and shows the end of its stderr.
pub fn run(
    row: &Row,
    options: &Options,
    limit: Duration,
    report: &Path,
    timeline: Option<&Path>,
) -> anyhow::Result<Run> {
    let mut args = row.args.clone();
    if let Some(path) = timeline {
        args.extend(["--timeline".into(), path.display().to_string()]);
    }
    let command_line = printable(&format!("{} {}", row.program.display(), args.join(" ")));
    let (dir, envs) = match row.language {
        Language::Rust => (None, Vec::new()),
        // The scripts run in compare's folder, so that nothing is written beside the reader's copy,
        // and reach 127.0.0.1 without a proxy, as the examples do.
        Language::Python(_) => (report.parent(), python_env()),
    };
    let busy_before = table::busy_seconds();
    let outcome: Outcome = guard::run(&row.program, &args, dir, &envs, limit, report)
        .with_context(|| format!("`{command_line}` could not be run"))?;
    let free_cores = table::free_cores(busy_before, &outcome);
    let stderr = if outcome.stderr.trim().is_empty() {
        "(empty)".to_string()
    } else {
        printable(&guard::tail(&outcome.stderr, 20))
    };
    match outcome.ended {
        Ended::Exited(0) => {}
        Ended::TimedOut => bail!(
            "`{command_line}` passed the time limit ({} s) and was killed with all its processes; the end of its stderr:\n{stderr}",
            options.time_limit
        ),
        Ended::Exited(code) => {
            bail!("`{command_line}` failed (exit status {code}); the end of its stderr:\n{stderr}")
        }
        Ended::Signalled(signal) => bail!(
            "`{command_line}` was killed by signal {signal}; the end of its stderr:\n{stderr}"
        ),
    }
    let last_line = outcome.stdout.lines().last().unwrap_or_default();
    let sites = SITES.len() * options.repeat;
    let printed = match (row.language, row.io) {
        (Language::Rust, true) => parse_downloaded(last_line, sites),
        (Language::Rust, false) => parse_computed(last_line),
        (Language::Python(_), io) => python::parse_summary(last_line, io, sites),
    };
    let Some(printed) = printed else {
        let expected = if row.io {
            format!("Downloaded {sites} sites in S seconds")
        } else {
            "Computed in S seconds".into()
        };
        bail!(
            "`{command_line}` succeeded but its stdout did not end with the summary line `{expected}` (its last line: {}); the end of its stderr:\n{stderr}",
            printable(last_line)
        );
    };
    Ok(Run {
        wall: outcome.wall,
        printed,
        cpu: outcome.cpu,
        max_rss_kib: outcome.max_rss_kib,
        free_cores,
    })
}

/// The environment of a Python script: `NO_PROXY` with 127.0.0.1 added, as requests and urllib
/// honour it.
fn python_env() -> Vec<(String, String)> {
    ["NO_PROXY", "no_proxy"]
        .iter()
        .map(|key| {
            let old = std::env::var(key).unwrap_or_default();
            let value = if old.is_empty() {
                "127.0.0.1,localhost".to_string()
            } else {
                format!("{old},127.0.0.1,localhost")
            };
            (key.to_string(), value)
        })
        .chain([("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string())])
        .collect()
}

/// Runs a Rust row once more with `--timeline DIR/<crate>/timeline.svg`.
pub fn draw_timeline(
    row: &Row,
    options: &Options,
    limit: Duration,
    report: &Path,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let folder = dir.join(row.name);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot make {}", folder.display()))?;
    let path = folder.join("timeline.svg");
    run(row, options, limit, report, Some(&path))?;
    Ok(path)
}
