//! What every example crate uses, so that each example's `main.rs` holds only its concurrency
//! approach: the tutorial's data ([`tutorial`]), the command-line options ([`args`]), the summary
//! lines and exit status ([`report`]), the built-in look-alike sites server ([`server`]) and the
//! `--timeline` picture of a run ([`timeline`]).
//!
//! Nothing here builds an HTTP client, a runtime, a thread or a thread pool: those are the lesson,
//! and they stay in the example crates. The one exception is [`pool`], the process pool: Python
//! takes `ProcessPoolExecutor` from its standard library and never shows how workers are started
//! or fed, and Rust's standard library has none.
//!
//! [`testing`] holds what the examples' tests share.

pub mod args;
pub mod pool;
pub mod report;
pub mod server;
pub mod testing;
pub mod timeline;
pub mod tutorial;

pub use args::{ClientSettings, CpuArgs, IoArgs, Knob};
pub use pool::ProcessPool;
pub use report::{report_computed, report_computed_results, report_downloads, succeeded};
pub use server::{Fault, SitesServer};
