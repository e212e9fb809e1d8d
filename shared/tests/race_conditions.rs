//! The direct port of race_condition.py is a `compile_fail,E0499` block in the header of the
//! `race_conditions` example (shared/examples/race_conditions.rs), which no tool compiles by itself
//! (and stable rustdoc would not check a `compile_fail` block's error code: it would pass if the
//! port failed for any other reason, such as a typo). This test compiles the block with rustc,
//! against the crossbeam that cargo built for these tests, and checks that E0499 is its only error.

use std::path::PathBuf;
use std::process::Command;

const DOC: &str = include_str!("../examples/race_conditions.rs");

/// The lines of the header's `compile_fail,E0499` block, without their `//! ` prefix.
fn direct_port() -> String {
    let start = "//! ```compile_fail,E0499\n";
    let at = DOC.find(start).expect("the doc has a compile_fail,E0499 block") + start.len();
    let end = DOC[at..].find("//! ```\n").expect("the block ends") + at;
    let lines = DOC[at..end].lines().map(|line| line.trim_start_matches("//!"));
    lines.map(|line| line.strip_prefix(' ').unwrap_or(line)).collect::<Vec<_>>().join("\n")
}

/// cargo puts this test and the crates it depends on in the same `deps` folder.
fn deps_folder() -> PathBuf {
    let test = std::env::current_exe().expect("a test knows where it runs from");
    test.parent().expect("a test binary lives in a folder").to_path_buf()
}

#[test]
fn the_direct_port_is_refused_with_e0499_only() {
    let deps = deps_folder();
    let mut crossbeams: Vec<PathBuf> = std::fs::read_dir(&deps)
        .expect("reading the deps folder")
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            name.starts_with("libcrossbeam-") && name.ends_with(".rlib")
        })
        .collect();
    crossbeams.sort();
    let crossbeam = crossbeams.first().expect("cargo built crossbeam next to this test");

    let folder = std::env::temp_dir().join(format!("race-port-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("creating a temporary folder");
    let source = folder.join("port.rs");
    std::fs::write(&source, format!("fn main() {{\n{}\n}}\n", direct_port())).unwrap();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .args(["--edition", "2024", "--emit", "metadata", "--error-format", "short", "--out-dir"])
        .arg(&folder)
        .arg("-L")
        .arg(format!("dependency={}", deps.display()))
        .arg("--extern")
        .arg(format!("crossbeam={}", crossbeam.display()))
        .arg(&source)
        .output()
        .expect("running rustc");
    let _ = std::fs::remove_dir_all(&folder);

    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the direct port compiled:\n{errors}");
    let codes: Vec<&str> =
        errors.match_indices("error[E").map(|(at, _)| &errors[at..at + 11]).collect();
    assert!(!codes.is_empty(), "no error code:\n{errors}");
    assert!(codes.iter().all(|&code| code == "error[E0499"), "{codes:?}\n{errors}");
}
