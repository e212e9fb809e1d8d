//! The tutorial's cpu_asyncio.py, ported literally: twenty `fib(35)` coroutines gathered on one
//! thread, where `fib` is itself async and awaits its own two recursive calls. The tutorial
//! measures what every `await` costs (86.50 s, 2.4 times its loop). In Rust a call of an async fn
//! only builds a future, and a future that awaits itself would contain itself, infinitely large:
//! each recursive call must be boxed (`Box::pin`), a heap allocation per call of fib. Nothing here
//! ever waits, so nothing runs concurrently either: compare it with the plain loop.
//!
//!     cargo run --release -p shared --example cpu_asyncio
//!     cargo run --release -p cpu_sync

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use futures_util::future::join_all;

/// Computes fib(N) REPEAT times as async tasks on one thread, as cpu_asyncio.py does.
#[derive(Parser)]
struct Args {
    /// Which Fibonacci number each task computes.
    #[arg(long, default_value_t = 35, value_parser = clap::value_parser!(u32).range(0..=93))]
    n: u32,
    /// How many tasks.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16))]
    repeat: u16,
}

#[tokio::main(flavor = "current_thread")] // Python: asyncio.run(main())
async fn main() -> ExitCode {
    let args = Args::parse();
    let start_time = Instant::now();
    // Python: tasks = [fib(35) for _ in range(20)]
    let tasks = (0..args.repeat).map(|_| fib(black_box(args.n)));
    // Python: await asyncio.gather(*tasks, return_exceptions=True)
    black_box(join_all(tasks).await);
    let duration = start_time.elapsed();
    shared::report_computed(duration)
}

// Python: async def fib(n): return n if n < 2 else await fib(n - 2) + await fib(n - 1)
async fn fib(n: u32) -> u64 {
    if n < 2 { u64::from(n) } else { Box::pin(fib(n - 2)).await + Box::pin(fib(n - 1)).await }
}
