//! io_processes.py in Rust: the tutorial's downloads on a pool of worker processes.
//!
//! Python's `ProcessPoolExecutor` starts worker processes and hands each a URL in turn. Rust has no
//! fork-and-pickle pool, so `shared::ProcessPool` runs this very binary again
//! (`std::env::current_exe()`) as its workers and passes them the URLs over pipes. Each worker
//! builds its own `Client`, which is `init_process`. For I/O, processes only add start-up costs to
//! what threads already do: wait for many downloads at once.
//!
//!     cargo run -p io_processes -- --local
//!     diff io_threads/src/main.rs io_processes/src/main.rs

use std::process::ExitCode;
use std::time::Instant;

use reqwest::blocking::Client;
use shared::ClientSettings;
use shared::IoArgs;
use shared::Knob;
use shared::succeeded;

fn main() -> anyhow::Result<ExitCode> {
    // The workers are this program, run again. In a worker this call runs `init_process` once,
    // then `download_site` on each URL the pool sends, and exits instead of returning.
    shared::pool::serve_if_worker_with(init_process, download_site);
    // Python: a ProcessPoolExecutor() has one worker per CPU, os.cpu_count().
    let args = IoArgs::parse("io_processes.py", Knob::Workers(num_cpus::get()));
    let start_time = Instant::now();
    let downloaded = download_all_sites(&args.sites, &args.client, args.workers)?;
    let duration = start_time.elapsed();
    Ok(shared::report_downloads(downloaded, args.sites.len(), duration))
}

fn download_all_sites(
    sites: &[String],
    settings: &ClientSettings,
    workers: usize,
) -> anyhow::Result<usize> {
    // Python: with ProcessPoolExecutor(initializer=init_process) as executor:
    let executor = shared::ProcessPool::with_initializer(workers, init_process, settings)?;
    // Python: executor.map(download_site, sites). A worker that dies fails only its own site.
    let results = executor.map(download_site, sites);
    Ok(sites
        .iter()
        .zip(results)
        .map(|(url, result)| succeeded(url, result))
        .filter(|ok| *ok)
        .count())
}

fn download_site(url: &str, client: &Client) -> anyhow::Result<()> {
    let response = client.get(url).send()?.error_for_status()?;
    let content = response.bytes()?;
    // Python: name = multiprocessing.current_process().name
    let name = shared::pool::current_process_name();
    println!("{name}:Read {} bytes from {url}", content.len());
    Ok(())
}

// Python: init_process() fills a global `session` in each worker. Here it returns the worker's
// Client, and the pool passes it to every download_site call in that worker.
fn init_process(settings: ClientSettings) -> anyhow::Result<Client> {
    let mut builder = Client::builder().timeout(settings.timeout);
    if settings.no_proxy {
        builder = builder.no_proxy();
    }
    Ok(builder.build()?)
}
