//! Runs the real binary: a small workload ends with the tutorial's summary line for any pool size,
//! and a bad command line exits with status 2.

use std::process::Command;

use shared::report::parse_computed;
use shared::testing::{Finished, run};

fn cpu_threads(args: &[&str]) -> Finished {
    run(Command::new(env!("CARGO_BIN_EXE_cpu_threads")).args(args))
}

#[test]
fn a_small_run_prints_only_the_summary() {
    for workers in ["1", "2", "5", "32"] {
        let finished = cpu_threads(&["--n", "20", "--repeat", "7", "--workers", workers]);
        assert_eq!(finished.code, Some(0), "--workers {workers}: {finished:?}");
        assert!(
            finished.stdout.lines().count() == 1 && parse_computed(finished.summary()).is_some(),
            "--workers {workers}: {finished:?}"
        );
    }
}

#[test]
fn a_bad_command_line_exits_2() {
    for args in [["--n", "94"], ["--n", "x"], ["--repeat", "0"], ["--workers", "0"]] {
        let finished = cpu_threads(&args);
        assert_eq!(finished.code, Some(2), "{args:?}: {finished:?}");
        assert!(finished.stdout.is_empty(), "{args:?}: {finished:?}");
    }
}
