//! What every example crate uses, so that each example's `main.rs` holds only its concurrency
//! approach: the tutorial's data ([`tutorial`]), the command-line options ([`args`]), the summary
//! lines and exit status ([`report`]) and the built-in look-alike sites server ([`server`]).
//!
//! Nothing here builds an HTTP client, a runtime, a thread or a thread pool: those are the lesson,
//! and they stay in the example crates.

pub mod args;
pub mod report;
pub mod server;
pub mod testing;
pub mod tutorial;

pub use args::{ClientSettings, CpuArgs, IoArgs, Knob};
pub use report::{report_computed, report_downloads, succeeded};
pub use server::{Fault, SitesServer};
