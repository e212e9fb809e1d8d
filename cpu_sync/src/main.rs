//! The tutorial's cpu_non_concurrent.py in Rust: fib(35) twenty times, one call after another, so
//! one core does all the work.
//!
//!     cargo run -p cpu_sync
//!     diff cpu_sync/src/main.rs cpu_threads/src/main.rs

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use shared::Knob;

fn main() -> anyhow::Result<ExitCode> {
    let args = shared::CpuArgs::parse("cpu_non_concurrent.py", Knob::None);
    let start_time = Instant::now();
    // fib is pure, and LLVM makes twenty identical calls of it only once: black_box hides the
    // argument from the optimiser, and the result too, so that no call is dropped as unused.
    // shared::timeline::task records when each call ran, only if --timeline is given.
    // Python: for _ in range(20): fib(35)
    for _ in 0..args.repeat {
        black_box(shared::timeline::task("fib", || fib(black_box(args.n))));
    }
    let duration = start_time.elapsed();
    Ok(shared::report_computed(duration))
}

fn fib(n: u32) -> u64 {
    if n < 2 { u64::from(n) } else { fib(n - 2) + fib(n - 1) }
}
