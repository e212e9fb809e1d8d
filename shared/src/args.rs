//! The command-line options, shared by every crate of a family so that `--help` reads the same
//! everywhere. Parsing is pure: it validates the command line and returns plain data, and a bad
//! value gets clap's usage message and exit status 2, never a panic. What the options set going
//! (the `--local` server, the open-files limit, the timeline) happens in [`crate::startup`].

use std::ffi::OsString;
use std::num::NonZeroUsize;
use std::path::PathBuf;
#[cfg(feature = "io")]
use std::time::Duration;

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches, value_parser};

#[cfg(feature = "io")]
use crate::server::DEFAULT_LATENCY;
use crate::tutorial::{FIB_N, FIB_REPEAT, example_for};
#[cfg(feature = "io")]
use crate::tutorial::{SITE_REPEAT, SITES, repeated};

/// The one option that belongs to a crate's concurrency approach, with the crate's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    /// No such option: the sequential examples.
    None,
    /// `--workers N`: the size of a pool of threads or processes.
    Workers(usize),
    /// `--limit N`: how many downloads io_async lets run at once.
    Limit(usize),
}

/// The largest `--repeat`: a million copies of the list are more than any experiment here needs,
/// and still fit in memory.
const MAX_REPEAT: usize = 1_000_000;

/// The largest `--workers`: past a thousand threads or processes a pool costs more than it saves,
/// and far more would exhaust the machine before teaching anything.
const MAX_WORKERS: usize = 1_000;

/// The largest `--limit` (tokio's semaphore refuses more than about 2^61 permits).
const MAX_LIMIT: usize = 1_000_000;

/// The largest `--latency`, in milliseconds: a day, like the largest `--timeout`.
pub const MAX_LATENCY_MS: u64 = 86_400_000;

/// The default `--max-page`, in MiB: far above the tutorial's pages (11 kB and 276 bytes), far
/// below what would strain a machine, even with `--limit` downloads reading at once.
#[cfg(feature = "io")]
pub const DEFAULT_MAX_PAGE_MIB: u64 = 64;

/// The options of the I/O examples, parsed.
#[cfg(feature = "io")]
#[derive(Clone, Debug, PartialEq)]
pub struct IoArgs {
    /// The URLs to download, in order: the tutorial's sites (or the ones given) `--repeat` times.
    /// With `--local`, [`crate::startup`] points them at the look-alike server once it runs.
    pub sites: Vec<String>,
    /// `--local`: the look-alike server's latency, when the sites are to come from it.
    pub local: Option<Duration>,
    /// The settings every `reqwest` client of the run is built with.
    pub client: ClientSettings,
    /// `--workers`, for a crate that passed [`Knob::Workers`]; 1 otherwise.
    pub workers: usize,
    /// `--limit`, for a crate that passed [`Knob::Limit`]; 1 otherwise.
    pub limit: usize,
    /// The crate's own option, as the crate declared it (for messages about it).
    pub knob: Knob,
    /// `--timeline`: where the summary line draws the run's timeline ([`crate::timeline`]).
    pub timeline: Option<PathBuf>,
}

/// What a download client needs to know from the command line. It crosses to io_processes'
/// workers as their set-up arguments, Python's `initargs`.
#[cfg(feature = "io")]
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "pool", derive(serde::Serialize, serde::Deserialize))]
pub struct ClientSettings {
    /// `--timeout`: the most one download may take. Python's `requests` has no default timeout and
    /// can hang forever; reqwest's async client has none either. Ours always has one.
    pub timeout: Duration,
    /// True when every site is on this machine (`--local`, or loopback URLs). reqwest sends even
    /// 127.0.0.1 through `$HTTP_PROXY` when that is set, and a proxy cannot reach our loopback, so
    /// such a client bypasses proxies; it needs no certificates either, as every URL is plain HTTP
    /// on 127.0.0.1. Real sites keep honouring the proxy variables.
    pub on_this_machine: bool,
    /// `--max-page`, in bytes: the largest page a download may read. A larger one fails, so that
    /// memory stays bounded whatever a server sends.
    pub max_page: u64,
}

/// The options of the CPU examples, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuArgs {
    /// `--n`: which Fibonacci number to compute (35 in the tutorial).
    pub n: u32,
    /// `--repeat`: how many times (20 in the tutorial).
    pub repeat: usize,
    /// `--workers`, for a crate that passed [`Knob::Workers`]; 1 otherwise.
    pub workers: usize,
    /// `--timeline`: where the summary line draws the run's timeline ([`crate::timeline`]).
    pub timeline: Option<PathBuf>,
}

// The option both families share. (A `///` here would become the command's description.)
#[derive(Args)]
struct TimelineOption {
    /// Draw the run's timeline (a lane per worker, a bar per task) into this SVG file
    #[arg(long, value_name = "FILE.svg")]
    timeline: Option<PathBuf>,
}

#[cfg(feature = "io")]
#[derive(Args)]
struct IoOptions {
    /// Sites to download instead of the tutorial's two (each repeated --repeat times; with --local,
    /// their host and path are looked up on the look-alike server)
    #[arg(value_name = "URL", value_parser = parse_url)]
    urls: Vec<String>,
    /// How many times to repeat the list of sites
    #[arg(long, value_name = "N", default_value_t = NonZeroUsize::new(SITE_REPEAT).unwrap(), value_parser = count_up_to(MAX_REPEAT))]
    repeat: NonZeroUsize,
    /// Download from the built-in look-alike sites on 127.0.0.1 instead of the internet
    #[arg(long)]
    local: bool,
    /// The look-alike server's delay before each response, in milliseconds
    #[arg(long, value_name = "MS", requires = "local", default_value_t = DEFAULT_LATENCY.as_millis() as u64, value_parser = value_parser!(u64).range(0..=MAX_LATENCY_MS))]
    latency: u64,
    /// The most one download may take, in seconds, name lookup and connecting included
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_timeout)]
    timeout: Duration,
    /// The largest page a download may read, in MiB; a larger one fails
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MAX_PAGE_MIB, value_parser = value_parser!(u64).range(1..=1024))]
    max_page: u64,
}

#[derive(Args)]
struct CpuOptions {
    /// Which Fibonacci number to compute (at most 93, the largest that fits in a u64; the naive
    /// recursion takes seconds for 45 and about a minute for 50)
    #[arg(long, value_name = "N", default_value_t = FIB_N, value_parser = value_parser!(u32).range(0..=93))]
    n: u32,
    /// How many times to compute it
    #[arg(long, value_name = "N", default_value_t = NonZeroUsize::new(FIB_REPEAT).unwrap(), value_parser = count_up_to(MAX_REPEAT))]
    repeat: NonZeroUsize,
}

#[cfg(feature = "io")]
impl IoArgs {
    /// Parses the given arguments (the first is the program's name) for the example that mirrors
    /// `script`, with the crate's `knob`: no effect, and clap's error (whose `exit_code()` is 2) instead of exiting.
    /// [`IoArgs::parse`] (in [`crate::startup`]) is what the examples call.
    pub fn try_parse_from<I, T>(script: &str, knob: Knob, args: I) -> Result<IoArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = command(script, knob, IoOptions::augment_args).try_get_matches_from(args)?;
        let options = IoOptions::from_arg_matches(&matches)?;
        let timeline = TimelineOption::from_arg_matches(&matches)?.timeline;
        let (workers, limit) = knob_values(&matches, knob);
        let mut sites = options.urls;
        if sites.is_empty() {
            sites = SITES.iter().map(|site| site.to_string()).collect();
        }
        let sites = repeated(&sites, options.repeat.get());
        let on_this_machine = options.local || sites.iter().all(|site| is_loopback(site));
        Ok(IoArgs {
            sites,
            local: options.local.then(|| Duration::from_millis(options.latency)),
            client: ClientSettings {
                timeout: options.timeout,
                on_this_machine,
                max_page: options.max_page * 1024 * 1024,
            },
            workers,
            limit,
            knob,
            timeline,
        })
    }
}

impl CpuArgs {
    /// Parses the given arguments for the example that mirrors `script`, with the crate's `knob`:
    /// no effect, and clap's error instead of exiting. [`CpuArgs::parse`] (in [`crate::startup`])
    /// is what the examples call.
    pub fn try_parse_from<I, T>(script: &str, knob: Knob, args: I) -> Result<CpuArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = command(script, knob, CpuOptions::augment_args).try_get_matches_from(args)?;
        let options = CpuOptions::from_arg_matches(&matches)?;
        let timeline = TimelineOption::from_arg_matches(&matches)?.timeline;
        let (workers, _) = knob_values(&matches, knob);
        Ok(CpuArgs { n: options.n, repeat: options.repeat.get(), workers, timeline })
    }
}

/// The clap command for one example: its name and description come from the tutorial's table.
fn command(script: &str, knob: Knob, add_options: fn(Command) -> Command) -> Command {
    let (name, about) = match example_for(script) {
        Some(example) => {
            (example.name, format!("Mirrors the tutorial's {script}: {}.", example.approach))
        }
        None => ("example", format!("Mirrors the tutorial's {script}.")),
    };
    let command = TimelineOption::augment_args(add_options(Command::new(name).about(about)));
    match knob {
        Knob::None => command,
        Knob::Workers(default) => command.arg(
            Arg::new("workers")
                .long("workers")
                .value_name("N")
                .help(format!("How many workers the pool has (at most {MAX_WORKERS})"))
                .default_value(default.to_string())
                .value_parser(count_up_to(MAX_WORKERS)),
        ),
        Knob::Limit(default) => command.arg(
            Arg::new("limit")
                .long("limit")
                .value_name("N")
                .help("How many downloads may run at once")
                .default_value(default.to_string())
                .value_parser(count_up_to(MAX_LIMIT)),
        ),
    }
}

/// `(workers, limit)` as the command line set them, 1 for an option the crate does not have.
fn knob_values(matches: &ArgMatches, knob: Knob) -> (usize, usize) {
    let value = |id: &str| matches.get_one::<NonZeroUsize>(id).map_or(1, |value| value.get());
    match knob {
        Knob::None => (1, 1),
        Knob::Workers(_) => (value("workers"), 1),
        Knob::Limit(_) => (1, value("limit")),
    }
}

/// Accepts an http or https URL with a host, and keeps it as the URL standard writes it: line
/// breaks and tabs removed, control characters and spaces percent-encoded. So a URL from the command
/// line can never forge an output line or send an escape sequence to the terminal.
#[cfg(feature = "io")]
fn parse_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text).map_err(|error| format!("not a URL: {error}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => {}
        _ => return Err("expected an http:// or https:// URL with a host".to_string()),
    }
    // The standard adds a `/` to a bare host; keep `https://www.jython.org` as the tutorial writes
    // it when that is the only change.
    let written = url.to_string();
    if written.strip_suffix('/') == Some(text) { Ok(text.to_string()) } else { Ok(written) }
}

/// The parser of a count from 1 to `max`.
fn count_up_to(
    max: usize,
) -> impl Fn(&str) -> Result<NonZeroUsize, String> + Clone + Send + Sync + 'static {
    move |text| {
        let count: usize = text.parse().map_err(|_| format!("not a whole number: {text}"))?;
        match NonZeroUsize::new(count) {
            Some(count) if count.get() <= max => Ok(count),
            _ => Err(format!("expected a whole number from 1 to {max}")),
        }
    }
}

/// A timeout from a millisecond to a day: below a millisecond no download could ever finish.
#[cfg(feature = "io")]
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("not a number of seconds: {text}"))?;
    if (0.001..=86_400.0).contains(&seconds) {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err("expected a number of seconds from 0.001 to 86400".to_string())
    }
}

/// Whether `site` is on this machine: `localhost` or a loopback address.
#[cfg(feature = "io")]
pub(crate) fn is_loopback(site: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(site) else { return false };
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(all(test, feature = "io"))]
mod tests {
    use super::*;

    fn io(args: &[&str]) -> Result<IoArgs, clap::Error> {
        IoArgs::try_parse_from("io_threads.py", Knob::Workers(5), [&["io_threads"], args].concat())
    }

    fn cpu(args: &[&str]) -> Result<CpuArgs, clap::Error> {
        CpuArgs::try_parse_from(
            "cpu_threads.py",
            Knob::Workers(5),
            [&["cpu_threads"], args].concat(),
        )
    }

    fn rejected<T>(result: Result<T, clap::Error>) -> bool {
        result.err().is_some_and(|error| error.exit_code() == 2)
    }

    /// The command lines of `bad` that `parse` accepts: none, if each is refused (all are tried,
    /// so that one accepted line does not hide another).
    fn accepted<'a, T>(
        bad: &[&'a [&'a str]],
        parse: impl Fn(&[&str]) -> Result<T, clap::Error>,
    ) -> Vec<&'a [&'a str]> {
        bad.iter().copied().filter(|args| !rejected(parse(args))).collect()
    }

    fn io_with(knob: Knob, args: &[&str]) -> Result<IoArgs, clap::Error> {
        IoArgs::try_parse_from("io_x.py", knob, [&["io_x"], args].concat())
    }

    fn cpu_with(knob: Knob, args: &[&str]) -> Result<CpuArgs, clap::Error> {
        CpuArgs::try_parse_from("cpu_x.py", knob, [&["cpu_x"], args].concat())
    }

    #[test]
    fn io_defaults_are_the_tutorials() {
        let args = io(&[]).unwrap();
        assert_eq!(args.sites.len(), 160);
        assert_eq!(args.sites[0], "https://www.jython.org");
        assert_eq!(args.workers, 5);
        assert_eq!(
            args.client,
            ClientSettings {
                timeout: Duration::from_secs(30),
                on_this_machine: false,
                max_page: 64 * 1024 * 1024
            }
        );
        assert_eq!(args.local, None);
    }

    #[test]
    fn local_is_only_noted_while_parsing() {
        let args = io(&["--local", "--repeat", "2", "--latency", "0", "--timeout", "0.5"]).unwrap();
        assert_eq!(args.local, Some(Duration::ZERO));
        assert_eq!(args.sites, [SITES[0], SITES[1], SITES[0], SITES[1]]);
        assert_eq!(args.client.timeout, Duration::from_millis(500));
        assert!(args.client.on_this_machine, "no proxy, no certificates for the look-alike");
        assert_eq!(io(&["--max-page", "2"]).unwrap().client.max_page, 2 * 1024 * 1024);
    }

    #[test]
    fn given_urls_are_kept_as_the_url_standard_writes_them() {
        let args = io(&["--repeat", "1", "https://www.jython.org", "http://x.org/a b\n\u{1b}c"]);
        assert_eq!(args.unwrap().sites, ["https://www.jython.org", "http://x.org/a%20b%1Bc"]);
    }

    #[test]
    fn counts_are_bounded() {
        assert!(rejected(io(&["--repeat", "1000001"])));
        assert!(rejected(io(&["--workers", "1001"])));
        assert!(rejected(io(&["--workers", "18446744073709551615"])));
        assert!(rejected(io(&["--local", "--latency", "86400001"])));
        assert!(rejected(cpu(&["--repeat", "18446744073709551615"])));
        let limit = |value| {
            IoArgs::try_parse_from(
                "io_asyncio.py",
                Knob::Limit(100),
                ["io_async", "--limit", value],
            )
        };
        assert!(rejected(limit("1000001")));
        assert_eq!(limit("1000000").unwrap().limit, 1_000_000);
    }

    #[test]
    fn given_urls_replace_the_tutorials() {
        let args = io(&["--repeat", "1", "http://127.0.0.1:9/a", "http://localhost:9/b"]).unwrap();
        assert_eq!(args.sites, ["http://127.0.0.1:9/a", "http://localhost:9/b"]);
        assert!(args.client.on_this_machine, "loopback URLs must bypass a proxy");
        let mixed = io(&["--repeat", "1", "http://127.0.0.1/", "https://example.com/"]).unwrap();
        assert!(!mixed.client.on_this_machine);
    }

    #[test]
    fn bad_io_values_are_usage_errors() {
        let bad: [&[&str]; 16] = [
            &["--repeat", "0"],
            &["--repeat", "-1"],
            &["--repeat", "x"],
            &["--workers", "0"],
            &["--workers", "many"],
            &["--timeout", "0"],
            &["--timeout", "-1"],
            &["--timeout", "nan"],
            &["--timeout", "1e-300"],
            &["--max-page", "0"],
            &["--latency", "10"],
            &["--local", "--latency", "-5"],
            &["not a url"],
            &["ftp://example.com/"],
            &["--limit", "5"],
            &["--n", "5"],
        ];
        assert_eq!(accepted(&bad, io), [] as [&[&str]; 0]);
    }

    #[test]
    fn each_knob_takes_only_its_own_option() {
        let none = |args: &[&str]| io_with(Knob::None, args);
        let limit = |args: &[&str]| io_with(Knob::Limit(100), args);
        let cpu_none = |args: &[&str]| cpu_with(Knob::None, args);
        let no_knob: [&[&str]; 2] = [&["--workers", "5"], &["--limit", "5"]];
        assert_eq!(accepted(&no_knob, none), [] as [&[&str]; 0], "io_sync");
        let not_limit: [&[&str]; 3] = [&["--limit", "0"], &["--limit", "x"], &["--workers", "5"]];
        assert_eq!(accepted(&not_limit, limit), [] as [&[&str]; 0], "io_async");
        let cpu_no_knob: [&[&str]; 2] = [&["--workers", "2"], &["--limit", "2"]];
        assert_eq!(accepted(&cpu_no_knob, cpu_none), [] as [&[&str]; 0], "cpu_sync");
    }

    #[test]
    fn cpu_defaults_and_bad_values() {
        let args = cpu(&[]).unwrap();
        assert_eq!((args.n, args.repeat, args.workers), (35, 20, 5));
        let args = cpu(&["--n", "93", "--repeat", "1", "--workers", "2"]).unwrap();
        assert_eq!((args.n, args.repeat, args.workers), (93, 1, 2));
        let bad: [&[&str]; 8] = [
            &["--n", "94"],
            &["--n", "-1"],
            &["--n", "x"],
            &["--repeat", "0"],
            &["--repeat", "x"],
            &["--workers", "0"],
            &["--workers", "x"],
            &["--local"],
        ];
        assert_eq!(accepted(&bad, cpu), [] as [&[&str]; 0]);
    }

    #[test]
    fn both_families_take_a_timeline_file() {
        assert_eq!(
            io(&["--timeline", "run.svg"]).unwrap().timeline,
            Some(PathBuf::from("run.svg"))
        );
        assert_eq!(
            cpu(&["--timeline", "fib.svg"]).unwrap().timeline,
            Some(PathBuf::from("fib.svg"))
        );
        assert_eq!(io(&[]).unwrap().timeline, None);
        assert!(rejected(cpu(&["--timeline"])), "needs a file");
    }

    #[test]
    fn help_names_the_script() {
        let error = io(&["--help"]).err().unwrap();
        assert_eq!(error.exit_code(), 0);
        assert!(error.to_string().contains("io_threads.py"));
        let sync = IoArgs::try_parse_from(
            "io_non_concurrent.py",
            Knob::None,
            ["io_sync", "--workers", "2"],
        );
        assert!(rejected(sync), "io_sync has no --workers");
    }
}
