//! The tutorial's io_asyncio.py: 160 downloads on one thread. Each is a future, lazy like a
//! coroutine, that yields the thread while it waits, so up to `--limit` downloads wait at once.
//! Where Python's `gather` holds every task from the start, `buffer_unordered` makes a download's
//! future only when one of the running ones ends: lazy futures let memory follow `--limit`, not
//! the number of sites (10,000 sites would otherwise hold 10,000 futures).
//!
//!     cargo run -p io_async -- --local
//!     diff io_sync/src/main.rs io_async/src/main.rs

use std::io;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::future::ready;
use futures_util::stream;
use reqwest::Client; // async: `reqwest::blocking` here would panic or stall the one thread
use shared::ClientSettingsExt;
use shared::IoArgs;
use shared::Knob;
use shared::PageExt;

const LIMIT: usize = 100; // Python: aiohttp's connector runs at most 100 requests at once

#[tokio::main(flavor = "current_thread")] // Python: asyncio.run(), on asyncio's one thread
async fn main() -> anyhow::Result<ExitCode> {
    let args = IoArgs::parse("io_asyncio.py", Knob::Limit(LIMIT));
    let start_time = Instant::now();
    let downloaded = download_all_sites(&args).await?;
    let duration = start_time.elapsed();
    Ok(shared::report_downloads(downloaded, &args, duration))
}

async fn download_all_sites(args: &IoArgs) -> anyhow::Result<usize> {
    // settings(): --timeout, and no proxy for the look-alike sites (shared::ClientSettingsExt).
    let client = Client::builder().settings(&args.client).build()?;
    // Python: tasks = [download_site(url, session) for url in sites]. Futures are lazy, like
    // coroutines: this makes none of them yet.
    let tasks =
        args.sites.iter().map(|url| shared::downloaded_async(url, download_site(url, &client)));
    // Python: await asyncio.gather(*tasks, return_exceptions=True). buffer_unordered runs at most
    // --limit of them at once, as aiohttp's connector does (reqwest has no cap of its own).
    let downloaded = stream::iter(tasks).buffer_unordered(args.limit).filter(|&ok| ready(ok));
    let downloaded = downloaded.count().await;
    Ok(downloaded)
}

async fn download_site(url: &str, client: &Client) -> anyhow::Result<()> {
    // page(): a 2xx answer's body, at most --max-page bytes (shared::PageExt).
    let content = client.get(url).send().await?.page().await?;
    writeln!(io::stdout(), "Read {} bytes from {url}", content.len())?;
    Ok(())
}
