//! Runs the io_threads binary against the look-alike server on 127.0.0.1 (checks in
//! `testkit`). The server's peak number of requests in flight shows the pool's size.

const IO_THREADS: &str = env!("CARGO_BIN_EXE_io_threads");

#[test]
fn reads_the_160_pages_five_at_a_time() {
    testkit::check_downloads(IO_THREADS, 80, &[], 5);
}

#[test]
fn workers_option_sets_how_many_download_at_once() {
    for workers in [1, 8] {
        let args = ["--workers", &workers.to_string()];
        testkit::check_downloads(IO_THREADS, 12, &args, workers);
    }
}

#[test]
fn reports_failures_bypasses_proxies_and_refuses_bad_command_lines() {
    testkit::check_errors(IO_THREADS, &[], &[&["--workers", "0"], &["--workers", "x"]]);
}

#[test]
fn ends_quietly_when_its_output_is_cut_short() {
    testkit::check_quiet_when_stdout_closes(
        IO_THREADS,
        &["--local", "--latency", "1", "--repeat", "20"],
    );
}
