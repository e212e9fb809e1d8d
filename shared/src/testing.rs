//! For the example crates' tests (`X/tests/*.rs`), which run the real binary: a binary that hangs
//! must fail its test, not hang CI.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished binary left behind.
#[derive(Debug)]
pub struct Finished {
    /// How it exited.
    pub status: ExitStatus,
    /// Everything it printed on stdout (invalid UTF-8 replaced).
    pub stdout: String,
    /// Everything it printed on stderr (invalid UTF-8 replaced).
    pub stderr: String,
}

/// Runs `command` to the end with stdin closed and its output captured. If it is still running after
/// `timeout`, kills it and panics (failing the test), naming the command and what it had printed.
///
/// ```no_run
/// # use std::process::Command;
/// # use std::time::Duration;
/// let finished = shared::testing::run(Command::new("ls").arg("-l"), Duration::from_secs(60));
/// assert!(finished.status.success(), "{}", finished.stderr);
/// ```
pub fn run(command: &mut Command, timeout: Duration) -> Finished {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    // Read both pipes while the child runs, so that a child with much to say never blocks on a full
    // pipe.
    let stdout = read_to_end(child.stdout.take().expect("stdout is piped"));
    let stderr = read_to_end(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let (stdout, stderr) = (stdout.join(), stderr.join());
            panic!(
                "{command:?} still ran after {timeout:?} and was killed\nstdout: {stdout:?}\nstderr: {stderr:?}"
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    Finished {
        status,
        stdout: stdout.join().expect("the stdout reader never panics"),
        stderr: stderr.join().expect("the stderr reader never panics"),
    }
}

fn read_to_end(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn captures_the_output_and_the_exit_status() {
        let finished = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        );
        assert_eq!(finished.status.code(), Some(3));
        assert_eq!(finished.stdout, "out\n");
        assert_eq!(finished.stderr, "err\n");
    }

    #[test]
    #[should_panic(expected = "was killed")]
    fn kills_a_command_that_runs_too_long() {
        run(Command::new("sleep").arg("10"), Duration::from_millis(200));
    }
}
