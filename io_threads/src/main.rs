//! The tutorial's io_threads.py: 160 downloads on 5 threads, each blocked on its own download while
//! the others run theirs. They share one client: `reqwest::blocking::Client` is `Send + Sync` (an
//! `Arc` inside), so Rust needs no `threading.local`, and this diff has less code than Python's.
//!
//!     cargo run -p io_threads -- --local
//!     diff io_sync/src/main.rs io_threads/src/main.rs
//!     diff io_threads/src/main.rs io_processes/src/main.rs

use std::io;
use std::io::Write;
use std::process::ExitCode;
use std::thread;
use std::time::Instant;

use anyhow::Context;
use crossbeam::channel;
use reqwest::blocking::Client;
use shared::ClientSettingsExt;
use shared::IoArgs;
use shared::Knob;
use shared::PageExt;

const MAX_WORKERS: usize = 5; // Python: ThreadPoolExecutor(max_workers=5)

fn main() -> anyhow::Result<ExitCode> {
    let args = IoArgs::parse("io_threads.py", Knob::Workers(MAX_WORKERS));
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
    // Python: executor.map(download_site, sites). A queue hands the sites in order to whichever of
    // the MAX_WORKERS (`--workers`) threads is free, and `scope` joins them, as `with` does. Where
    // `map` drops the exceptions nobody reads, each worker here counts its successes.
    let (sender, queue) = channel::unbounded();
    args.sites.iter().for_each(|url| sender.send(url).expect("the queue is open"));
    drop(sender);
    // Builder::spawn_scoped, unlike scope.spawn, returns an error when the system refuses a thread.
    let downloaded = thread::scope(|scope| {
        let worker = || queue.iter().filter(|url| download(url)).count();
        let spawn = |_| thread::Builder::new().spawn_scoped(scope, worker);
        let workers: Result<Vec<_>, _> = (0..args.workers).map(spawn).collect();
        let workers = workers.context("cannot start a download thread")?;
        anyhow::Ok(workers.into_iter().map(|worker| worker.join().expect("worker panicked")).sum())
    })?;
    Ok(downloaded)
}

fn download_site(url: &str, client: &Client) -> anyhow::Result<()> {
    // page(): a 2xx answer's body, at most --max-page bytes (shared::PageExt).
    let content = client.get(url).send()?.page()?;
    writeln!(io::stdout(), "Read {} bytes from {url}", content.len())?;
    Ok(())
}
