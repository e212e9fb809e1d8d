//! Runs the real binary (checks in `testkit`): a small workload ends with the tutorial's
//! summary line, and a bad command line exits with status 2.

const CPU_SYNC: &str = env!("CARGO_BIN_EXE_cpu_sync");

#[test]
fn a_small_run_prints_only_the_summary() {
    testkit::check_computes(testkit::command(CPU_SYNC).args(["--n", "20", "--repeat", "3"]));
}

#[test]
fn a_bad_command_line_exits_2() {
    testkit::check_bad_cpu_command_lines(CPU_SYNC, &[&["--workers", "2"]]);
}
