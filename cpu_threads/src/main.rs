//! The tutorial's cpu_threads.py in Rust: the same twenty calls of fib(35), shared out among a pool
//! of 5 threads.
//!
//!     cargo run -p cpu_threads
//!     diff cpu_sync/src/main.rs cpu_threads/src/main.rs

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;
use shared::Knob;

const MAX_WORKERS: usize = 5; // Python: ThreadPoolExecutor(max_workers=5)

fn main() -> anyhow::Result<ExitCode> {
    let args = shared::CpuArgs::parse("cpu_threads.py", Knob::Workers(MAX_WORKERS));
    let start_time = Instant::now();
    // fib is pure, and LLVM makes twenty identical calls of it only once: black_box hides the
    // argument from the optimiser, and the result too, so that no call is dropped as unused.
    // shared::timeline::task records when each call ran, only if --timeline is given.
    // Python: executor.map(fib, [35] * 20). rayon's global pool of MAX_WORKERS (`--workers`)
    // threads, sized once per program, shares the calls out. Rust has no GIL, so they run fib on
    // every core at once where Python's threads take turns: here the tutorial's lesson flips.
    let threads = rayon::ThreadPoolBuilder::new().num_threads(args.workers).build_global();
    threads.context("cannot start the threads")?;
    (0..args.repeat).into_par_iter().for_each(|_| {
        black_box(shared::timeline::task("fib", || fib(black_box(args.n))));
    });
    let duration = start_time.elapsed();
    Ok(shared::report_computed(duration))
}

fn fib(n: u32) -> u64 {
    if n < 2 { u64::from(n) } else { fib(n - 2) + fib(n - 1) }
}
