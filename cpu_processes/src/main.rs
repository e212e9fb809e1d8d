//! cpu_processes.py in Rust: fib(35) twenty times on a pool of worker processes.
//!
//! In Python only processes make this faster, because of the GIL. In Rust threads already did (see
//! cpu_threads), so this crate is here for parity: it works, and pays each worker's start-up.
//! `shared::ProcessPool` runs this very binary again as its workers, one per CPU.
//!
//!     cargo run -p cpu_processes
//!     diff cpu_threads/src/main.rs cpu_processes/src/main.rs

use std::process::ExitCode;
use std::time::Instant;

use shared::CpuArgs;
use shared::Knob;

fn main() -> anyhow::Result<ExitCode> {
    // The workers are this program, run again: in a worker this call runs `fib` on each number the
    // pool sends, and exits instead of returning.
    shared::pool::serve_if_worker(fib);
    // Python: a ProcessPoolExecutor() has one worker per CPU, os.cpu_count().
    let args = CpuArgs::parse("cpu_processes.py", Knob::Workers(num_cpus::get()));
    let start_time = Instant::now();
    // Python: with ProcessPoolExecutor() as executor:
    let executor = shared::ProcessPool::new(args.workers)?;
    // Python: executor.map(fib, [35] * 20). The results come back over pipes: the work stays.
    let results = executor.map(fib, &vec![args.n; args.repeat]);
    let duration = start_time.elapsed();
    Ok(shared::report_computed_results(&results, duration))
}

fn fib(n: u32) -> u64 {
    if n < 2 { n as u64 } else { fib(n - 2) + fib(n - 1) }
}
