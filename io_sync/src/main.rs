//! The tutorial's io_non_concurrent.py: 160 downloads, one after another. The `Client` plays the
//! role of `requests.Session`, a connection pool made once and reused; dropping it replaces `with`.
//!
//!     cargo run -p io_sync -- --local
//!     diff io_sync/src/main.rs io_threads/src/main.rs
//!     diff io_sync/src/main.rs io_async/src/main.rs

use std::process::ExitCode;
use std::time::Instant;

use reqwest::blocking::Client;
use shared::IoArgs;
use shared::Knob;

fn main() -> anyhow::Result<ExitCode> {
    let args = IoArgs::parse("io_non_concurrent.py", Knob::None);
    let start_time = Instant::now();
    let downloaded = download_all_sites(&args)?;
    let duration = start_time.elapsed();
    Ok(shared::report_downloads(downloaded, args.sites.len(), duration))
}

fn download_all_sites(args: &IoArgs) -> anyhow::Result<usize> {
    let mut client = Client::builder().timeout(args.client.timeout);
    if args.client.no_proxy {
        client = client.no_proxy();
    }
    let client = client.build()?;
    // shared::succeeded prints a failed site on stderr and returns false; shared::timeline::task
    // records when each download ran, only if --timeline is given.
    let download = |url: &str| {
        shared::succeeded(url, shared::timeline::task(url, || download_site(url, &client)))
    };
    // Python: for url in sites: download_site(url, session)
    let downloaded = args.sites.iter().filter(|url| download(url)).count();
    Ok(downloaded)
}

fn download_site(url: &str, client: &Client) -> anyhow::Result<()> {
    let content = client.get(url).send()?.error_for_status()?.bytes()?;
    println!("Read {} bytes from {url}", content.len());
    Ok(())
}
