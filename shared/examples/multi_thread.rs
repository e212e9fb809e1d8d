//! io_async on both of tokio's runtimes. `current_thread` is asyncio's one thread, io_async's
//! choice; `multi_thread`, what a bare `#[tokio::main]` gives, runs tasks on a worker thread per
//! core, and an idle worker steals queued tasks from a busy one. For downloads that only wait it
//! changes little: one thread can already wait for 100 at once. A CPU task mixed in (`--fib 40`)
//! changes everything: on one thread it holds the thread, and every download waits until it is
//! done; on the multi-thread runtime it holds one worker while the others carry on.
//!
//!     cargo run --release -p shared --example multi_thread -- --flavor current-thread --fib 40
//!     cargo run --release -p shared --example multi_thread -- --flavor multi-thread --fib 40
//!
//! Tasks are `tokio::spawn`ed, not `join_all`ed: `join_all` polls every future inside one task,
//! and one task runs on one thread at a time, whatever the runtime.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use clap::Parser;
use clap::ValueEnum;
use reqwest::Client;
use shared::SitesServer;
use shared::report::{download_summary, print_line};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Downloads the tutorial's sites on the runtime you choose, with a CPU task mixed in if you ask.
#[derive(Parser)]
struct Args {
    /// tokio's runtime.
    #[arg(long, value_enum, default_value_t = Flavor::CurrentThread)]
    flavor: Flavor,
    /// Also compute fib(N) in one task spawned among the downloads (0: no CPU task).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=60))]
    fib: u32,
    /// How often the tutorial's two sites are repeated (80: 160 downloads).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u16).range(1..))]
    repeat: u16,
    /// Milliseconds the look-alike server waits before each answer.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u16))]
    latency: u16,
    /// Downloads in flight at once, as aiohttp's connector limit.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
    limit: u16,
}

#[derive(Clone, Copy, ValueEnum)]
enum Flavor {
    /// One thread: #[tokio::main(flavor = "current_thread")], asyncio's model.
    CurrentThread,
    /// A worker thread per core, with work stealing: #[tokio::main].
    MultiThread,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let mut runtime = match args.flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
    };
    runtime.enable_all().build()?.block_on(download_all_sites(&args))
}

async fn download_all_sites(args: &Args) -> anyhow::Result<ExitCode> {
    let server = SitesServer::start(Duration::from_millis(args.latency.into()))?;
    let client = Client::builder().no_proxy().timeout(Duration::from_secs(30)).build()?;
    let semaphore = Arc::new(Semaphore::new(args.limit.into()));
    let start_time = Instant::now();
    // Python: async with asyncio.TaskGroup() as tg: tg.create_task(download_site(url, session))
    let mut downloads = JoinSet::new();
    for _ in 0..args.repeat {
        for site in shared::tutorial::SITES {
            let (url, client, semaphore) =
                (server.url_for(site), client.clone(), semaphore.clone());
            downloads.spawn(async move {
                let _permit =
                    semaphore.acquire_owned().await.expect("the semaphore is never closed");
                let result = download_site(&url, &client).await;
                (url, result)
            });
        }
    }
    // The CPU task: a future that never awaits, so it keeps whichever thread runs it until done.
    let n = args.fib;
    let computation = (n > 0).then(|| tokio::spawn(async move { timed_fib(n) }));

    let sites = downloads.len();
    let mut downloaded = 0;
    while let Some(joined) = downloads.join_next().await {
        let (url, result) = joined?;
        if shared::succeeded(&url, result) {
            downloaded += 1;
        }
    }
    let duration = start_time.elapsed();
    let mut printed = print_line(download_summary(downloaded, sites, duration));
    if let Some(computation) = computation {
        let seconds = computation.await?;
        printed &=
            print_line(format!("Computed fib({n}) in {seconds:.2} seconds, among the downloads"));
    }
    Ok(if downloaded == sites && printed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn download_site(url: &str, client: &Client) -> anyhow::Result<()> {
    let content = client.get(url).send().await?.error_for_status()?.bytes().await?;
    writeln!(std::io::stdout(), "Read {} bytes from {url}", content.len())?;
    Ok(())
}

/// The seconds that fib(n) took.
fn timed_fib(n: u32) -> f64 {
    let start_time = Instant::now();
    std::hint::black_box(fib(std::hint::black_box(n)));
    start_time.elapsed().as_secs_f64()
}

fn fib(n: u32) -> u64 {
    if n < 2 { u64::from(n) } else { fib(n - 2) + fib(n - 1) }
}
