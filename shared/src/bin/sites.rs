//! Runs the built-in look-alike sites on their own, so that anything can download from them: the
//! tutorial's own Python scripts, curl, a browser. Compare Python and Rust against the same server:
//!
//!     cargo run -p shared --bin sites -- --port 8000
//!
//! then, in the Python scripts, replace the two sites with the URLs this prints.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use shared::args::MAX_LATENCY_MS;
use shared::server::{DEFAULT_LATENCY, Fault, SitesServer};
use shared::tutorial::SITES;

/// Serves look-alike copies of the tutorial's two sites on 127.0.0.1 until stopped with Ctrl-C.
#[derive(Parser)]
#[command(name = "sites")]
struct Options {
    /// The port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The delay before each response, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_LATENCY.as_millis() as u64, value_parser = clap::value_parser!(u64).range(0..=MAX_LATENCY_MS))]
    latency: u64,
}

fn main() -> ExitCode {
    let options = Options::parse();
    // Other processes' downloads each hold a connection here.
    shared::server::raise_open_files_limit();
    let server = match SitesServer::start_on(options.port, Duration::from_millis(options.latency)) {
        Ok(server) => server,
        Err(error) => {
            shared::output::warn(format_args!(
                "Could not listen on 127.0.0.1:{}: {error}",
                options.port
            ));
            return ExitCode::FAILURE;
        }
    };
    // One write, and no panic if nobody reads it: the server goes on serving either way.
    let mut text = format!(
        "Look-alike sites on {}, {} ms per response:\n",
        server.base_url(),
        options.latency
    );
    for site in SITES {
        text += &format!("  {site:<40} -> {}\n", server.url_for(site));
    }
    text += "Fault pages:\n";
    for fault in Fault::ALL {
        text += &format!("  {}\n", server.fault_url(fault));
    }
    text += "Stop with Ctrl-C.\n";
    let _ = std::io::stdout().write_all(text.as_bytes());
    loop {
        std::thread::park();
    }
}
