//! What every example crate uses, so that each example's `main.rs` holds only its concurrency
//! approach: the tutorial's data ([`tutorial`]), the command-line options ([`args`]), the summary
//! lines and exit status ([`report`]), what the options start ([`startup`], the one place with
//! effects), the built-in look-alike sites server ([`server`]) and the `--timeline` picture of a run
//! ([`timeline`]).
//!
//! Nothing here builds an HTTP client, a runtime, a thread or a thread pool: those are the lesson,
//! and they stay in the example crates. The one exception is [`pool`], the process pool: Python
//! takes `ProcessPoolExecutor` from its standard library and never shows how workers are started
//! or fed, and Rust's standard library has none.
//!
//! Features: `io` (the I/O examples: options with URLs, the look-alike server; brings reqwest,
//! tokio and axum) and `pool` (the process pool). The CPU examples turn on at most `pool`, so
//! `cargo run -p cpu_sync` builds no web stack. The tests' shared checks are in the `testkit`
//! crate beside this one (`shared/testkit`), a dev-dependency only. The lessons beyond the
//! seven ports are cargo examples of this package (`shared/examples/`).

pub mod args;
#[cfg(feature = "io")]
pub mod client;
pub mod output;
#[cfg(feature = "pool")]
pub mod pool;
pub mod report;
#[cfg(feature = "io")]
pub mod server;
pub mod startup;
pub mod timeline;
pub mod tutorial;

#[cfg(feature = "io")]
pub use args::{ClientSettings, IoArgs};
pub use args::{CpuArgs, Knob};
#[cfg(feature = "io")]
pub use client::{ClientSettingsExt, PageExt};
#[cfg(feature = "pool")]
pub use pool::ProcessPool;
pub use report::{downloaded, report_computed, report_computed_results, succeeded};
#[cfg(feature = "io")]
pub use report::{downloaded_async, report_downloads};
#[cfg(feature = "io")]
pub use server::{Fault, SitesServer};
