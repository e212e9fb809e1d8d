//! Runs the real binary (checks in `testkit`): a small workload ends with the tutorial's
//! summary line for any pool size, and a bad command line exits with status 2.

const CPU_THREADS: &str = env!("CARGO_BIN_EXE_cpu_threads");

#[test]
fn a_small_run_prints_only_the_summary() {
    for workers in ["1", "2", "5", "32"] {
        let args = ["--n", "20", "--repeat", "7", "--workers", workers];
        testkit::check_computes(testkit::command(CPU_THREADS).args(args));
    }
}

#[test]
fn a_bad_command_line_exits_2() {
    testkit::check_bad_cpu_command_lines(CPU_THREADS, &[&["--workers", "0"]]);
}
