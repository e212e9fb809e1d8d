//! compare against the stand-in tutorial scripts in `tests/tutorial` (the project ships none of the
//! tutorial's own): Python rows beside Rust rows, failures, the time limit, no orphans when compare
//! is killed, full output streams. Rust rows use the examples' debug binaries beside compare's when
//! they were built (`cargo test --workspace` builds them); these tests never build in release. The
//! Python tests need `python3` and skip themselves, saying so, without it. Small sizes throughout;
//! no test asserts a duration.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const COMPARE: &str = env!("CARGO_BIN_EXE_compare");

/// The stand-in scripts.
fn tutorial() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("tutorial")
}

/// Whether `python3` runs here; if not, the test says it skips.
fn python3() -> bool {
    let found = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        eprintln!("skipped: no python3 on the PATH");
    }
    found
}

/// A folder of this test's own, empty.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("compare-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tutorial folder holding `scripts`: (name, text), the text `None` for the stand-in's.
fn tutorial_with(name: &str, scripts: &[(&str, Option<&str>)]) -> PathBuf {
    let dir = scratch(name);
    for (script, text) in scripts {
        let text = text.map_or_else(
            || std::fs::read_to_string(tutorial().join(script)).unwrap(),
            String::from,
        );
        std::fs::write(dir.join(script), text).unwrap();
    }
    dir
}

/// compare with `args`, waited for at most two minutes.
fn compare(args: &[&str]) -> Output {
    let child = Command::new(COMPARE)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, Duration::from_secs(120))
}

fn finish(mut child: Child, limit: Duration) -> Output {
    let read = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut text);
            }
            text
        })
    };
    let out = read(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = read(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("compare did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The table row that starts with `| name |` and runs on `runs_on`.
fn row<'a>(stdout: &'a str, name: &str, runs_on: &str) -> Option<&'a str> {
    stdout.lines().find(|line| line.starts_with(&format!("| {name} |")) && line.contains(runs_on))
}

#[test]
fn python_rows_stand_beside_rust_rows() {
    if !python3() {
        return;
    }
    let bin_dir = Path::new(COMPARE).parent().unwrap();
    let built =
        |name: &str| bin_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)).is_file();
    let tutorial = tutorial();
    let args = ["--tutorial", tutorial.to_str().unwrap(), "--python", "python3", "--bin-dir"];
    let mut args: Vec<&str> = args.into();
    args.push(bin_dir.to_str().unwrap());
    args.extend(["--only", "io_sync,io_threads,cpu_sync,cpu_asyncio.py", "--repeat", "2"]);
    args.extend(["--latency", "1", "--n", "20", "--fib-repeat", "2", "--runs", "2"]);
    let output = compare(&args);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for script in
        ["io_non_concurrent.py", "io_threads.py", "cpu_non_concurrent.py", "cpu_asyncio.py"]
    {
        let line = row(&stdout, script, "CPython 3.")
            .unwrap_or_else(|| panic!("no {script} row:\n{stdout}"));
        assert!(line.contains("GIL o"), "{line}");
        assert!(line.contains(" MiB |"), "peak memory in the row: {line}");
    }
    let threads = row(&stdout, "io_threads.py", "CPython").unwrap();
    assert!(threads.contains("(1 x 1 ms)"), "4 downloads on 5 threads: one round: {threads}");
    for name in ["io_sync", "io_threads", "cpu_sync"] {
        if built(name) {
            assert!(row(&stdout, name, "Rust").is_some(), "no {name} row:\n{stdout}");
        } else {
            eprintln!("{name} is not built in {}: its row is not checked", bin_dir.display());
        }
    }
    assert!(!stdout.contains("| io_async"), "--only holds for both languages:\n{stdout}");
    // Binaries given with --bin-dir are not called a release build: they may be a debug one.
    let from = format!("Rust binaries from {},", bin_dir.display());
    assert!(stdout.contains(&from), "the header names the binaries' folder:\n{stdout}");
}

#[test]
fn a_failing_script_is_a_failed_row_with_its_stderr_and_exit_1() {
    if !python3() {
        return;
    }
    let dir = tutorial_with(
        "failing",
        &[
            ("cpu_non_concurrent.py", None),
            ("cpu_threads.py", Some("import aiohttp_is_not_here\nprint(fib(35), range(20))\n")),
        ],
    );
    let empty = scratch("failing-bin");
    let args = ["--tutorial", dir.to_str().unwrap(), "--bin-dir", empty.to_str().unwrap()];
    let output =
        compare(&[&args[..], &["--only", "cpu", "--n", "20", "--fib-repeat", "2"]].concat());
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let failed = row(&stdout, "cpu_threads.py", "CPython").unwrap();
    assert!(failed.contains("failed") && failed.contains("ModuleNotFoundError"), "{failed}");
    assert!(row(&stdout, "cpu_non_concurrent.py", "CPython").unwrap().contains(" MiB |"));
    for dir in [dir, empty] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_python_that_does_not_run_is_an_error_before_anything_starts() {
    let output =
        compare(&["--python", "/nonexistent/python3", "--tutorial", tutorial().to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--python /nonexistent/python3: cannot run it"), "{stderr}");
    assert!(!stderr.contains("Building") && !stderr.contains("Look-alike"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn python_without_tutorial_says_what_is_missing() {
    let output = compare(&["--python", "python3"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--tutorial"), "{stderr}");
}

#[test]
fn a_run_past_the_time_limit_is_killed_and_failed() {
    if !python3() {
        return;
    }
    let dir =
        tutorial_with("slow", &[("cpu_non_concurrent.py", Some("import time\ntime.sleep(600)\n"))]);
    let empty = scratch("slow-bin");
    let args = ["--tutorial", dir.to_str().unwrap(), "--bin-dir", empty.to_str().unwrap()];
    let output = compare(&[&args[..], &["--only", "cpu", "--time-limit", "1"]].concat());
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let failed = row(&stdout, "cpu_non_concurrent.py", "CPython").unwrap();
    assert!(failed.contains("failed") && failed.contains("time limit (1 s)"), "{failed}");
    for dir in [dir, empty] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Runs compare with its stdout, its stderr or both on /dev/full (`name` its scratch folder's), and
/// checks that it ends with status 1, not a panic, saying so on stderr if stderr can be written.
fn check_full_output_is_exit_1(name: &str, stdout_full: bool, stderr_full: bool) {
    if !python3() || !Path::new("/dev/full").exists() {
        return;
    }
    let empty = scratch(name);
    let tutorial = tutorial();
    let args = ["--tutorial", tutorial.to_str().unwrap(), "--bin-dir", empty.to_str().unwrap()];
    let args = [&args[..], &["--only", "cpu_sync", "--n", "5", "--fib-repeat", "1"]].concat();
    let full = || Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap());
    let mut command = Command::new(COMPARE);
    command.args(&args).stdin(Stdio::null());
    command.stdout(if stdout_full { full() } else { Stdio::piped() });
    command.stderr(if stderr_full { full() } else { Stdio::piped() });
    let output = finish(command.spawn().unwrap(), Duration::from_secs(120));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    if !stderr_full {
        assert!(stderr.contains("cannot write the table"), "{stderr}");
    }
    std::fs::remove_dir_all(empty).unwrap();
}

#[test]
fn a_full_stdout_is_exit_1_not_a_panic() {
    check_full_output_is_exit_1("full-stdout-bin", true, false);
}

#[test]
fn a_full_stderr_is_exit_1_not_a_panic() {
    check_full_output_is_exit_1("full-stderr-bin", false, true);
}

#[test]
fn a_full_stdout_and_stderr_is_exit_1_not_a_panic() {
    check_full_output_is_exit_1("full-both-bin", true, true);
}

/// Processes whose process group is `group`, from /proc.
#[cfg(target_os = "linux")]
fn group_members(group: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so count from its closing bracket.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|pgrp| pgrp.parse::<u32>().ok()) == Some(group)
            && fields[0] != "Z"
        {
            members.push(pid);
        }
    }
    members
}

/// The pids of the processes whose command line contains `needle`.
#[cfg(target_os = "linux")]
fn find_processes(needle: &str) -> Vec<u32> {
    let entries = std::fs::read_dir("/proc").unwrap().flatten();
    entries
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline).contains(needle).then_some(pid)
        })
        .collect()
}

/// Kills compare with `signal` while cpu_processes.py's workers are busy, and checks that the
/// script and its pool's workers end too.
#[cfg(target_os = "linux")]
fn check_killing_compare_kills_the_script_and_its_workers(signal: nix::sys::signal::Signal) {
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    if !python3() {
        return;
    }
    let dir = tutorial_with(&format!("orphans-{signal}"), &[("cpu_processes.py", None)]);
    let empty = scratch(&format!("orphans-{signal}-bin"));
    // fib(40) x 4 in CPython takes minutes: the workers are busy when compare is killed.
    let mut compare = Command::new(COMPARE)
        .args(["--tutorial", dir.to_str().unwrap(), "--bin-dir", empty.to_str().unwrap()])
        .args(["--only", "cpu_processes.py", "--n", "40", "--fib-repeat", "4", "--processes", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let script = format!("compare-{}/cpu_processes.py", compare.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    // The script, and its pool's workers in its process group.
    let group = loop {
        // The guard's command line names the script too; the script leads a group of its own.
        let leader = find_processes(&script).into_iter().find(|&pid| group_members(pid).len() >= 2);
        if let Some(pid) = leader {
            break pid;
        }
        assert!(Instant::now() < deadline, "the script and its workers never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    kill(Pid::from_raw(compare.id() as i32), signal).unwrap();
    compare.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !group_members(group).is_empty() {
        assert!(
            Instant::now() < deadline,
            "after {signal}, still running: {:?}",
            group_members(group)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("compare-{}", compare.id())));
    for dir in [dir, empty] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn sigkill_of_compare_kills_the_script_and_its_pool_workers() {
    check_killing_compare_kills_the_script_and_its_workers(nix::sys::signal::Signal::SIGKILL);
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_of_compare_kills_the_script_and_its_pool_workers() {
    check_killing_compare_kills_the_script_and_its_workers(nix::sys::signal::Signal::SIGTERM);
}

#[cfg(target_os = "linux")]
#[test]
fn sigint_of_compare_kills_the_script_and_its_pool_workers() {
    check_killing_compare_kills_the_script_and_its_workers(nix::sys::signal::Signal::SIGINT);
}
