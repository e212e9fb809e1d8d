//! What an example does once its options are parsed and before its work starts: the one place with
//! effects ([`crate::args`] only parses). `IoArgs::parse` and `CpuArgs::parse`, which every
//! example calls first, are here:
//!
//! - a closed stdout (`| head`) will end the program quietly, as it ends `cat`;
//! - with real sites, HTTPS is checked to have its CA certificates ([`crate::client`]), so that
//!   a system without them gets a message saying what to install;
//! - with `--local`, the look-alike server starts, for the life of the process, the sites are
//!   pointed at it, and a low open-files limit lowers `--workers` or `--limit` to what fits;
//! - with `--timeline`, the file is checked to be writable now, not after the whole run, and
//!   recording starts ([`crate::timeline`]).
//!
//! A failure here gets one stderr line and exit status 1.

use std::fmt::Display;
use std::io::Write;
use std::path::Path;

#[cfg(feature = "io")]
use crate::args::IoArgs;
use crate::args::{CpuArgs, Knob};
use crate::output::{escaped, escaped_lines, warn};
#[cfg(feature = "io")]
use crate::server::SitesServer;
use crate::timeline::{self, Heading, Timeline, Work};
use crate::tutorial::example_for;

#[cfg(feature = "io")]
impl IoArgs {
    /// Parses the command line of the example that mirrors `script`, with the crate's `knob`
    /// ([`IoArgs::try_parse_from`]), then starts what the options ask for (this module's list). Exits with
    /// status 2 and a usage message on a bad command line, and with 1 if something cannot start.
    pub fn parse(script: &str, knob: Knob) -> IoArgs {
        let args = IoArgs::try_parse_from(script, knob, std::env::args_os())
            .unwrap_or_else(|error| exit_on_usage_error(error));
        io(script, args)
    }
}

impl CpuArgs {
    /// Parses the command line of the example that mirrors `script`, with the crate's `knob`
    /// ([`CpuArgs::try_parse_from`]), then starts what the options ask for (this module's list). Exits with
    /// status 2 and a usage message on a bad command line.
    pub fn parse(script: &str, knob: Knob) -> CpuArgs {
        let args = CpuArgs::try_parse_from(script, knob, std::env::args_os())
            .unwrap_or_else(|error| exit_on_usage_error(error));
        cpu(script, args)
    }
}

/// Ends the program on a bad command line as clap would (exit status 2, the usage on stderr), but
/// with the user's text escaped: clap quotes the bad value as typed, and a URL argument holding
/// escape sequences would otherwise colour the terminal or retitle its window. `--help` and
/// `--version` (on stdout, exit 0) hold no user text and go out as clap writes them.
fn exit_on_usage_error(error: clap::Error) -> ! {
    if !error.use_stderr() {
        error.exit()
    }
    let shown = escaped_lines(&error.render().to_string());
    let _ = write!(std::io::stderr(), "{shown}");
    std::process::exit(error.exit_code())
}

/// Start-up of an I/O example; returns `args` with the sites pointed where they will be read.
#[cfg(feature = "io")]
fn io(script: &str, mut args: IoArgs) -> IoArgs {
    quiet_when_stdout_closes();
    if let Err(message) = crate::client::check_certificates(&args.client) {
        fail(escaped(&message));
    }
    if let Some(latency) = args.local {
        let server = start_look_alike(latency);
        args.sites = args.sites.iter().map(|site| on_look_alike(server, site)).collect();
        match args.knob {
            Knob::None => {}
            Knob::Workers(_) => args.workers = fit_open_files_limit("workers", args.workers),
            Knob::Limit(_) => args.limit = fit_open_files_limit("limit", args.limit),
        }
    }
    // Last, so that a run refused above leaves no empty picture behind.
    start_timeline(script, args.timeline.as_deref(), Work::Downloads);
    args
}

/// Start-up of a CPU example.
fn cpu(script: &str, args: CpuArgs) -> CpuArgs {
    quiet_when_stdout_closes();
    start_timeline(script, args.timeline.as_deref(), Work::Fib(args.n));
    args
}

/// Rust ignores SIGPIPE, so a `println!` to a closed pipe (`cargo run -p io_sync | head`) would
/// fail instead of ending the program as it ends `cat` or `grep`. Restore the default.
fn quiet_when_stdout_closes() {
    sigpipe::reset();
}

/// With `--timeline`, creates the file now, so that a path that cannot be written fails before the
/// run rather than after it, and turns recording on, titled with the example's crate.
fn start_timeline(script: &str, path: Option<&Path>, work: Work) {
    let Some(path) = path else { return };
    let shown = escaped(&path.display().to_string());
    // Only a regular file (or a new one): opening a FIFO for writing would wait for a reader
    // without end, and a device such as /dev/full would fail only after the whole run.
    if path.metadata().is_ok_and(|metadata| !metadata.is_file()) {
        fail(format_args!("Cannot write the timeline to {shown}: not a regular file"));
    }
    if let Err(error) = std::fs::File::create(path) {
        fail(format_args!("Cannot write the timeline to {shown}: {error}"));
    }
    let example = example_for(script).map_or("example", |example| example.name).to_string();
    timeline::enable(Timeline::new(path, Heading { example, work }));
}

/// Starts the look-alike server for the rest of the process: it is leaked on purpose, so that no
/// refactor of an example can drop it while the sites still point at it.
#[cfg(feature = "io")]
fn start_look_alike(latency: std::time::Duration) -> &'static SitesServer {
    // Every download in flight costs this process two descriptors or more (see below); a low soft
    // limit (256 on macOS) would fail downloads that have nothing wrong with them.
    crate::server::raise_open_files_limit();
    match SitesServer::start(latency) {
        Ok(server) => Box::leak(Box::new(server)),
        Err(error) => fail(format_args!("Could not start the look-alike sites server: {error}")),
    }
}

/// Where `--local` downloads `site` from: a URL on this machine, such as a fault page that the
/// `sites` binary printed, keeps its path on the built-in server; any other is looked up by host
/// and path ([`SitesServer::url_for`]).
#[cfg(feature = "io")]
fn on_look_alike(server: &SitesServer, site: &str) -> String {
    match reqwest::Url::parse(site) {
        Ok(url) if crate::args::is_loopback(site) => format!("{}{}", server.base_url(), url.path()),
        _ => server.url_for(site),
    }
}

/// With `--local` the look-alike server runs in this process, so every download in flight holds
/// two open files here (the client's socket and the server's), and up to four: a connection that
/// is being handed back to the client's pool while the next download opens a new one (io_async
/// measured 108 connections at `--limit 84`), or a process pool's worker and its pipes. A low hard
/// limit (`ulimit -n 200`) stays low: then `--workers` or `--limit` (`option`, set to `asked`) is
/// lowered to what fits, with a note on stderr, where downloads would otherwise fail with "Too many
/// open files".
#[cfg(feature = "io")]
fn fit_open_files_limit(option: &str, asked: usize) -> usize {
    #[cfg(unix)]
    if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        // What the program opens besides the downloads: stdio, the runtimes, listeners, pipes.
        const KEPT_BACK: u64 = 32;
        const FILES: u64 = 4;
        let fits = usize::try_from(soft.saturating_sub(KEPT_BACK) / FILES).unwrap_or(usize::MAX);
        let fits = fits.max(1);
        if asked > fits {
            warn(format_args!(
                "The open-files limit is {soft}, and with the look-alike server in this process each \
                 download in flight needs up to {FILES} open files: --{option} {asked} lowered to {fits}."
            ));
            return fits;
        }
    }
    asked
}

/// Says why the program cannot start, and ends it with exit status 1.
fn fail(message: impl Display) -> ! {
    warn(message);
    std::process::exit(1)
}
