//! The tutorial's cpu_processes.py in Rust: the same twenty calls of fib(35), shared out among a
//! pool of worker processes, one per CPU. `shared::ProcessPool` runs this very binary again as its
//! workers. In Python only processes make this faster, because of the GIL; in Rust threads already
//! did (cpu_threads), so this crate is here for parity: it works, and pays each worker's start-up.
//!
//!     cargo run -p cpu_processes
//!     diff cpu_threads/src/main.rs cpu_processes/src/main.rs

use std::process::ExitCode;
use std::time::Instant;

use shared::Knob;

fn main() -> anyhow::Result<ExitCode> {
    // In a worker, this call runs `fib` on each number it is sent, and exits instead of returning.
    shared::pool::serve_if_worker(fib);
    // Python: a ProcessPoolExecutor() has one worker per CPU, os.cpu_count().
    let args = shared::CpuArgs::parse("cpu_processes.py", Knob::Workers(num_cpus::get()));
    let start_time = Instant::now();
    // Python: with ProcessPoolExecutor() as executor: executor.map(fib, [35] * 20). The pool shuts
    // down at the end of this line, as at the end of `with`. Each result comes back over a pipe, so
    // the optimiser cannot drop a call.
    let results = shared::ProcessPool::new(args.workers)?.map(fib, &vec![args.n; args.repeat]);
    let duration = start_time.elapsed();
    Ok(shared::report_computed_results(&results, duration))
}

fn fib(n: u32) -> u64 {
    if n < 2 { u64::from(n) } else { fib(n - 2) + fib(n - 1) }
}
