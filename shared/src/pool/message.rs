//! What the pool and a worker say to each other: typed messages, one JSON line each (serde_json,
//! the Rust counterpart of Python's pickle here). Adding a field to a message is adding it to its
//! variant: serde writes and reads it, and the compiler points at every place that builds one.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a reply line starts with on a worker's stdout, so that it can never be confused with what a
/// task printed there. Text before it on the same line is the task's (a print without a line break).
pub(super) const MARK: &[u8] = "\u{1}process-pool\u{2}".as_bytes();

/// What the pool sends a worker, on the worker's stdin.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(super) enum ToWorker {
    /// The first message: the set-up function's argument, Python's `initargs`.
    Init { args: Value },
    /// One task: its place among the items of the `map` call, and its input.
    Task { id: usize, input: Value },
}

/// What a worker sends back, on its stdout, behind [`MARK`].
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(super) enum FromWorker {
    /// Set up, and waiting for tasks.
    Ready { pid: u32 },
    /// The set-up function failed; the worker exits.
    Failed { error: String },
    /// Task `id` ended: its output, or its error as text; `took` is how long the worker ran it,
    /// for the timeline.
    Done { id: usize, outcome: Result<Value, String>, took: Duration },
}

/// `message` as one line of JSON, line break included (JSON escapes any inside a string).
pub(super) fn line(message: &impl Serialize) -> String {
    let mut line = serde_json::to_string(message).expect("a message of JSON values always encodes");
    line.push('\n');
    line
}

/// Splits a line read from a worker's stdout into the text a task printed and the reply after
/// [`MARK`], if there is one.
pub(super) fn split_reply(line: &[u8]) -> (&[u8], Option<FromWorker>) {
    let Some(at) = line.windows(MARK.len()).position(|window| window == MARK) else {
        return (line, None);
    };
    match serde_json::from_slice(&line[at + MARK.len()..]) {
        Ok(reply) => (&line[..at], Some(reply)),
        Err(_) => (line, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_one_line_whatever_its_text() {
        let task = ToWorker::Task { id: 3, input: Value::from("a b\\c\nd\te\r") };
        let line = line(&task);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert_eq!(serde_json::from_str::<ToWorker>(&line).unwrap(), task);
    }

    #[test]
    fn a_reply_is_found_behind_what_a_task_printed() {
        let done = FromWorker::Done { id: 7, outcome: Ok(Value::from(6765)), took: Duration::ZERO };
        let printed = [b"no line break".as_slice(), MARK, line(&done).as_bytes()].concat();
        let (text, reply) = split_reply(&printed);
        assert_eq!((text, reply), (b"no line break".as_slice(), Some(done)));
        assert_eq!(split_reply(b"Process-1:Read 10966 bytes\n").1, None);
    }
}
