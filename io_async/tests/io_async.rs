//! Runs the io_async binary against the look-alike server on 127.0.0.1 (checks in
//! `shared::testing`). The server's peak number of requests in flight shows the limit at work.

use std::time::Duration;

use shared::testing;

const IO_ASYNC: &str = env!("CARGO_BIN_EXE_io_async");

// Long enough for all 160 requests to reach the server before the first one is answered.
const LATENCY: Duration = Duration::from_millis(300);

#[test]
fn reads_the_160_pages_at_most_100_at_a_time() {
    assert_eq!(testing::check_downloads(IO_ASYNC, LATENCY, 80, &[]).peak_in_flight, 100);
}

#[test]
fn limit_above_the_number_of_sites_lets_all_of_them_run_at_once() {
    let downloads = testing::check_downloads(IO_ASYNC, LATENCY, 80, &["--limit", "1000"]);
    assert_eq!(downloads.peak_in_flight, 160);
}

#[test]
fn reports_failures_bypasses_proxies_and_refuses_bad_command_lines() {
    testing::check_errors(IO_ASYNC, &[], &[&["--limit", "0"], &["--workers", "5"]]);
}
