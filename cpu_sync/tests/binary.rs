//! Runs the real binary: a small workload ends with the tutorial's summary line, and a bad command
//! line exits with status 2.

use std::process::Command;

use shared::report::parse_computed;
use shared::testing::{Finished, run};

fn cpu_sync(args: &[&str]) -> Finished {
    run(Command::new(env!("CARGO_BIN_EXE_cpu_sync")).args(args))
}

#[test]
fn a_small_run_prints_only_the_summary() {
    let finished = cpu_sync(&["--n", "20", "--repeat", "3"]);
    assert_eq!(finished.code, Some(0), "{finished:?}");
    assert!(
        finished.stdout.lines().count() == 1 && parse_computed(finished.summary()).is_some(),
        "{finished:?}"
    );
}

#[test]
fn a_bad_command_line_exits_2() {
    for args in [["--n", "94"], ["--n", "x"], ["--repeat", "0"], ["--workers", "2"]] {
        let finished = cpu_sync(&args);
        assert_eq!(finished.code, Some(2), "{args:?}: {finished:?}");
        assert!(finished.stdout.is_empty(), "{args:?}: {finished:?}");
    }
}
