//! The tutorial's io_processes.py: 160 downloads on a pool of worker processes, one per CPU. Rust
//! has no fork-and-pickle pool, so `shared::ProcessPool` runs this very binary again
//! (`std::env::current_exe()`) as its workers and sends them the URLs over pipes. Each worker
//! builds its own `Client`, which is `init_process`. Each worker waits for one download at a
//! time, so one download per CPU waits at once, and each worker costs a start-up.
//!
//!     cargo run -p io_processes -- --local
//!     diff io_threads/src/main.rs io_processes/src/main.rs

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
    // Python's workers get this file's functions by forking or importing it again. In a worker,
    // this call runs `init_process` once, then `download_site` on each URL it is sent, and exits
    // instead of returning.
    shared::pool::serve_if_worker_with(init_process, download_site);
    // Python: a ProcessPoolExecutor() has one worker per CPU, os.cpu_count().
    let args = IoArgs::parse("io_processes.py", Knob::Workers(num_cpus::get()));
    let start_time = Instant::now();
    let downloaded = download_all_sites(&args)?;
    let duration = start_time.elapsed();
    Ok(shared::report_downloads(downloaded, &args, duration))
}

fn download_all_sites(args: &IoArgs) -> anyhow::Result<usize> {
    // Python: with ProcessPoolExecutor(initializer=init_process) as executor:
    let executor = shared::ProcessPool::with_initializer(args.workers, init_process, &args.client)?;
    // Python: executor.map(download_site, sites). The pool hands the sites in order to whichever
    // worker is free; a worker that dies fails the one site it was reading, and the rest go on.
    let results = executor.map(download_site, &args.sites);
    let oks = args.sites.iter().zip(results).map(|(url, result)| shared::succeeded(url, result));
    let downloaded = oks.filter(|&ok| ok).count();
    Ok(downloaded)
}

fn download_site(url: &str, client: &Client) -> anyhow::Result<()> {
    // page(): a 2xx answer's body, at most --max-page bytes (shared::PageExt).
    let content = client.get(url).send()?.page()?;
    // Python: name = multiprocessing.current_process().name, in front of the line.
    let name = shared::pool::current_process_name();
    writeln!(io::stdout(), "{name}:Read {} bytes from {url}", content.len())?;
    Ok(())
}

// Python: init_process() sets a global `session` in each worker. Here it returns the worker's
// `Client`, and the pool passes it to every `download_site` call in that worker.
fn init_process(settings: shared::ClientSettings) -> anyhow::Result<Client> {
    // settings(): --timeout, and no proxy for the look-alike sites (shared::ClientSettingsExt).
    Ok(Client::builder().settings(&settings).build()?)
}
