//! The tutorial's io_non_concurrent.py: 160 downloads, one after another. The `Client` plays the
//! role of `requests.Session`, a connection pool made once and reused; dropping it replaces `with`.
//!
//!     cargo run -p io_sync -- --local
//!     diff io_sync/src/main.rs io_threads/src/main.rs
//!     diff io_sync/src/main.rs io_async/src/main.rs

use std::io;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use reqwest::blocking::Client;
use shared::ClientSettingsExt;
use shared::IoArgs;
use shared::Knob;
use shared::PageExt;

fn main() -> anyhow::Result<ExitCode> {
    let args = IoArgs::parse("io_non_concurrent.py", Knob::None);
    let start_time = Instant::now();
    let downloaded = download_all_sites(&args)?;
    let duration = start_time.elapsed();
    Ok(shared::report_downloads(downloaded, &args, duration))
}

fn download_all_sites(args: &IoArgs) -> anyhow::Result<usize> {
    // settings(): --timeout, and no proxy for the look-alike sites (shared::ClientSettingsExt).
    let client = Client::builder().settings(&args.client).build()?;
    // shared::downloaded prints a failed site on stderr and returns false; with --timeline it
    // records when each download ran.
    let download = |url: &str| shared::downloaded(url, || download_site(url, &client));
    // Python: for url in sites: download_site(url, session)
    let downloaded = args.sites.iter().filter(|url| download(url)).count();
    Ok(downloaded)
}

fn download_site(url: &str, client: &Client) -> anyhow::Result<()> {
    // page(): a 2xx answer's body, at most --max-page bytes (shared::PageExt).
    let content = client.get(url).send()?.page()?;
    writeln!(io::stdout(), "Read {} bytes from {url}", content.len())?;
    Ok(())
}
