//! Race conditions: the tutorial's `race_condition.py` in Rust, and why its direct port does not
//! compile.
//!
//!     cargo run --release -p shared --example race_conditions
//!
//! The tutorial warns that threads sharing data can race, and its earlier version shipped
//! `race_condition.py`: 5,000 tasks on a thread pool each add 1 to a global counter 100 times.
//!
//! ```python
//! import concurrent.futures
//!
//! counter = 0
//!
//! def increment_counter(fake_value):
//!     global counter
//!     for _ in range(100):
//!         counter += 1
//!
//! if __name__ == "__main__":
//!     fake_data = [x for x in range(5000)]
//!     counter = 0
//!     with concurrent.futures.ThreadPoolExecutor(max_workers=5000) as executor:
//!         executor.map(increment_counter, fake_data)
//! ```
//!
//! `counter += 1` reads, adds and writes back. A thread switch between the read and the write
//! loses the increments another thread made meanwhile, so the total can come out below 500,000.
//! (Measured, with `print(counter)` added: CPython 3.9 printed 448,051 to 451,903 once
//! `sys.setswitchinterval(1e-6)` made it switch threads often. 3.10 to 3.13 printed 500,000 every
//! time, even so: their GIL switches only at loop ends and calls, never inside `counter += 1`.
//! The bug hides there, but it is still in the program. On a free-threaded build, with no GIL, it
//! bites: CPython 3.14 built with `--disable-gil` came out short in 19 of 20 runs, 291,327 to
//! 445,994 (measured on a 2-core machine); 3.11.7, 3.12.1 and 3.13.0 printed 500,000 in 20 of 20.)
//!
//! The Rust versions run on the examples' pool: 5 scoped threads pulling tasks from a crossbeam
//! channel, as `io_threads` does. The number of threads does not matter to the race.
//!
//! ## The direct port does not compile
//!
//! ```compile_fail,E0499
//! use crossbeam::channel;
//! use std::thread;
//!
//! const MAX_WORKERS: usize = 5;
//!
//! let mut counter: u64 = 0;
//! let (sender, receiver) = channel::unbounded();
//! for fake_value in 0..5_000 {
//!     sender.send(fake_value).expect("the receiver is alive");
//! }
//! drop(sender);
//! thread::scope(|s| {
//!     for _ in 0..MAX_WORKERS {
//!         s.spawn(|| {
//!             for _fake_value in &receiver {
//!                 for _ in 0..100 {
//!                     counter += 1;
//!                 }
//!             }
//!         });
//!     }
//! });
//! assert_eq!(counter, 500_000);
//! ```
//!
//! rustc refuses it: ``error[E0499]: cannot borrow `counter` as mutable more than once at a
//! time``, and at `s.spawn(||` it notes "`counter` was mutably borrowed here in the previous
//! iteration of the loop". To write to `counter` a closure needs `&mut counter`, and Rust allows
//! one `&mut` to a value at a time; threads may share a value only through `&`, which cannot
//! write a plain `u64`. What Python runs and gets wrong, Rust does not build: in safe Rust a
//! data race is a compile error. (A `static mut` global, closer to Python's `global counter`, is
//! refused too: using it needs `unsafe`, error E0133.)
//!
//! (A test in `shared/tests/examples.rs` compiles this block with rustc and checks that E0499 is its
//! only error.)
//!
//! `main` below runs the two fixes, an atomic and a mutex, which give exactly 500,000, and then a
//! race that Rust does not prevent.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::thread;

use crossbeam::channel;

const MAX_WORKERS: usize = 5;
const FAKE_DATA: u64 = 5_000;

fn main() -> std::process::ExitCode {
    use shared::report::print_line;
    let printed = print_line(format!("AtomicU64: {} of 500000", with_an_atomic()))
        && print_line(format!("Mutex<u64>: {} of 500000", with_a_mutex()))
        && print_line(format!("check-then-act on an AtomicU64: {} of 500000", check_then_act()));
    if printed { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}

/// Fix 1. `fetch_add` reads, adds and writes as one indivisible step, through a shared `&`.
/// `Relaxed` is enough: the step is indivisible at every ordering, so no increment is lost, and
/// stronger orderings only order *other* memory accesses around it, of which there are none here.
/// The total is read after `thread::scope` has joined every thread, and a join makes all of a
/// thread's writes visible to the thread that joined it.
fn with_an_atomic() -> u64 {
    let counter = AtomicU64::new(0);
    on_the_pool(|| {
        for _ in 0..100 {
            counter.fetch_add(1, Relaxed);
        }
    });
    counter.load(Relaxed)
}

/// Fix 2. `lock()` lets one thread at a time in, and only through the guard it returns can the
/// value be touched: the data lives inside the lock, so forgetting to lock does not compile. It is
/// the tool when the shared state is more than one number.
fn with_a_mutex() -> u64 {
    let counter = Mutex::new(0u64);
    on_the_pool(|| {
        for _ in 0..100 {
            *counter.lock().expect("no thread panicked holding it") += 1;
        }
    });
    counter.into_inner().expect("no thread panicked holding it")
}

/// What Rust does not prevent. The compiler rules out *data races* (unsynchronised access to the
/// same memory), not every race. Deadlocks compile: two threads that take two mutexes in opposite
/// orders can wait for each other forever. So do logic races, such as check-then-act on an atomic:
/// each `load` and `store` is safe on its own, but another thread can store in between, and its
/// increments are lost, just as in Python. Sometimes 500,000, often below, different from run to
/// run, never above.
fn check_then_act() -> u64 {
    let counter = AtomicU64::new(0);
    on_the_pool(|| {
        for _ in 0..100 {
            let n = counter.load(Relaxed); // check...
            counter.store(n + 1, Relaxed); // ...then act on a value that may be stale
        }
    });
    counter.load(Relaxed)
}

/// Python: `ThreadPoolExecutor.map(increment_counter, fake_data)`: `MAX_WORKERS` scoped threads
/// take the 5,000 tasks from a channel, as io_threads does, and each task runs `increment_counter`.
fn on_the_pool(increment_counter: impl Fn() + Sync) {
    let (sender, receiver) = channel::unbounded();
    for fake_value in 0..FAKE_DATA {
        sender.send(fake_value).expect("the receiver is alive");
    }
    drop(sender);
    thread::scope(|s| {
        for _ in 0..MAX_WORKERS {
            s.spawn(|| {
                for _fake_value in &receiver {
                    increment_counter();
                }
            });
        }
    });
}
