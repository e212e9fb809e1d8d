//! Blocking inside async: the tutorial's warning that io_asyncio.py "would've been much slower"
//! with `requests` instead of aiohttp, because one task that does not cooperate holds the one
//! thread that every task shares. Here each download is a blocking HTTP GET (std's `TcpStream`,
//! as blocking as `requests.get`) inside tokio's one-thread runtime: the 160 downloads run one
//! after another, as slowly as io_sync, although they are futures joined like io_async's.
//! `--spawn-blocking` is the fix: `tokio::task::spawn_blocking`, Python's `asyncio.to_thread`,
//! runs each blocking call on tokio's pool of blocking threads, and the downloads wait at once.
//!
//!     cargo run --release -p shared --example blocking_in_async -- --timeline blocking.svg
//!     cargo run --release -p shared --example blocking_in_async -- --spawn-blocking --timeline fixed.svg
//!
//! (Not `reqwest::blocking`: inside a runtime it panics in debug builds, reqwest#1450.)

use std::io::Read;
use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use futures_util::future::join_all;
use shared::SitesServer;
use shared::report::{download_summary, print_line};
use shared::timeline::{Heading, Timeline, Work};

/// Downloads the tutorial's sites from the look-alike server with a blocking call in async code.
#[derive(Parser)]
struct Args {
    /// The fix: run each blocking call with tokio::task::spawn_blocking (asyncio.to_thread).
    #[arg(long)]
    spawn_blocking: bool,
    /// How often the tutorial's two sites are repeated (80: 160 downloads).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u16).range(1..))]
    repeat: u16,
    /// Milliseconds the look-alike server waits before each answer.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u16))]
    latency: u16,
    /// Draw the run as an SVG picture into this file.
    #[arg(long, value_name = "FILE.svg")]
    timeline: Option<PathBuf>,
}

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "current_thread")] // Python: asyncio.run(), on asyncio's one thread
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let server = SitesServer::start(Duration::from_millis(args.latency.into()))?;
    let sites: Vec<String> = (0..args.repeat)
        .flat_map(|_| shared::tutorial::SITES.map(|site| server.url_for(site)))
        .collect();
    let name = if args.spawn_blocking { "spawn_blocking" } else { "blocking" };
    if let Some(path) = &args.timeline {
        let example = format!("blocking_in_async ({name})");
        shared::timeline::enable(Timeline::new(path, Heading { example, work: Work::Downloads }));
    }

    let start_time = Instant::now();
    let tasks =
        sites.iter().map(|url| shared::timeline::task_async(url, download_site(url, &args)));
    let results = join_all(tasks).await;
    let duration = start_time.elapsed();

    // The examples' own reporting: each failure named on stderr, the tutorial's summary line, and
    // with --timeline the picture.
    let oks = sites.iter().zip(results).map(|(url, result)| shared::succeeded(url, result));
    let downloaded = oks.filter(|&ok| ok).count();
    let printed = print_line(download_summary(downloaded, sites.len(), duration));
    let drawn = shared::timeline::finish(duration);
    Ok(if downloaded == sites.len() && printed && drawn {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn download_site(url: &str, args: &Args) -> anyhow::Result<()> {
    let size = if args.spawn_blocking {
        // Python: await asyncio.to_thread(requests.get, url). The call runs on another thread,
        // and this task waits for it as for any I/O, so the runtime's thread moves on.
        let owned = url.to_string();
        tokio::task::spawn_blocking(move || blocking_get(&owned)).await??
    } else {
        // Python: requests.get(url) inside a coroutine. No `.await`: the one thread blocks here,
        // and no other task runs until the answer is in.
        blocking_get(url)?
    };
    writeln!(std::io::stdout(), "Read {size} bytes from {url}")?;
    Ok(())
}

/// A blocking HTTP/1.1 GET of an `http://HOST:PORT/PATH` URL: the size of the body of a 200 answer.
fn blocking_get(url: &str) -> anyhow::Result<usize> {
    let rest = url.strip_prefix("http://").context("only http:// URLs")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(stream, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.take(1 << 24).read_to_end(&mut answer)?;
    let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n").context("no HTTP header")?;
    let status = answer.split(|&b| b == b' ').nth(1).unwrap_or_default();
    anyhow::ensure!(
        status == b"200",
        "HTTP status {}",
        String::from_utf8_lossy(status).escape_debug()
    );
    Ok(answer.len() - head_end - 4)
}
