//! The tutorial's io_asyncio.py: 160 downloads on one thread. Each is a future, lazy like a
//! coroutine, that yields the thread while it waits, so up to `--limit` downloads wait at once.
//!
//!     cargo run -p io_async -- --local
//!     diff io_sync/src/main.rs io_async/src/main.rs

use std::process::ExitCode;
use std::time::Instant;

use futures_util::future::join_all;
use reqwest::Client; // async: `reqwest::blocking` here would panic or stall the one thread
use shared::IoArgs;
use shared::Knob;
use tokio::sync::Semaphore;

const LIMIT: usize = 100; // Python: aiohttp's connector runs at most 100 requests at once

#[tokio::main(flavor = "current_thread")] // Python: asyncio.run(), on asyncio's one thread
async fn main() -> anyhow::Result<ExitCode> {
    let args = IoArgs::parse("io_asyncio.py", Knob::Limit(LIMIT));
    let start_time = Instant::now();
    let downloaded = download_all_sites(&args).await?;
    let duration = start_time.elapsed();
    Ok(shared::report_downloads(downloaded, args.sites.len(), duration))
}

async fn download_all_sites(args: &IoArgs) -> anyhow::Result<usize> {
    let mut client = Client::builder().timeout(args.client.timeout);
    if args.client.no_proxy {
        client = client.no_proxy();
    }
    let client = client.build()?;
    // Unlike aiohttp's connector, reqwest has no cap: 10,000 sites would open 10,000 sockets.
    let semaphore = Semaphore::new(args.limit);
    // Python: tasks = [download_site(url, session) for url in sites]
    let tasks = args.sites.iter().map(async |url| {
        let _permit = semaphore.acquire().await.expect("the semaphore is never closed");
        shared::succeeded(url, shared::timeline::task_async(url, download_site(url, &client)).await)
    });
    // Python: await asyncio.gather(*tasks, return_exceptions=True), which join_all plays.
    let downloaded = join_all(tasks).await.into_iter().filter(|&ok| ok).count();
    Ok(downloaded)
}

async fn download_site(url: &str, client: &Client) -> anyhow::Result<()> {
    let content = client.get(url).send().await?.error_for_status()?.bytes().await?;
    println!("Read {} bytes from {url}", content.len());
    Ok(())
}
