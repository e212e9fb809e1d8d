//! The lanes of a picture: one per worker, in natural order, and the rows that the tasks which
//! overlapped on one worker (io_async's) are stacked in.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use super::{Bar, Worker, thousands};
/// The lanes of a picture: every worker that ran a task, in natural order (`Process-2` before
/// `Process-10`).
pub(super) struct Workers {
    pub(super) names: Vec<String>,
    pub(super) threads: bool,
    processes: bool,
}

impl Workers {
    pub(super) fn of(bars: &[Bar]) -> Workers {
        let mut names: Vec<String> = bars.iter().map(|bar| bar.worker.name().to_string()).collect();
        names.sort_by_cached_key(|name| natural_key(name));
        names.dedup();
        let threads = bars.iter().all(|bar| matches!(bar.worker, Worker::Thread(_)));
        let processes = bars.iter().all(|bar| bar.worker.name().starts_with("Process-"));
        Workers { names, threads, processes }
    }

    pub(super) fn noun(&self, count: usize) -> &'static str {
        match (self.threads, self.processes, count == 1) {
            (true, _, true) => "thread",
            (true, _, false) => "threads",
            (false, true, true) => "process",
            (false, true, false) => "processes",
            (false, false, true) => "worker",
            (false, false, false) => "workers",
        }
    }

    pub(super) fn counted(&self) -> String {
        format!("{} {}", thousands(self.names.len()), self.noun(self.names.len()))
    }
}

fn natural_key(name: &str) -> Vec<Result<u64, String>> {
    let mut key = Vec::new();
    let mut rest = name;
    while let Some(first) = rest.chars().next() {
        let digits = first.is_ascii_digit();
        let end = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        key.push(match run.parse::<u64>() {
            Ok(number) if digits => Ok(number),
            _ => Err(run.to_string()),
        });
        rest = tail;
    }
    key
}

/// One worker's tasks and the rows they are drawn in.
pub(super) struct LaneRows<'a> {
    pub(super) name: String,
    /// Sorted by start.
    pub(super) bars: Vec<&'a Bar>,
    /// The row of each bar among the stacked rows.
    pub(super) slots: Vec<usize>,
    /// How many rows stacking needed: 1 when no two tasks overlapped.
    pub(super) stacked: usize,
    /// How many rows are drawn (fewer than `stacked` when there are too many).
    pub(super) rows: usize,
}

/// Stacks bars sorted by start into rows, each bar into the lowest row free at its start (bars that
/// overlap by less than `slack` seconds count as one after the other). Returns each bar's row and
/// the number of rows.
pub(super) fn stack(bars: &[&Bar], slack: f64) -> (Vec<usize>, usize) {
    let mut free = BTreeSet::new();
    let mut busy = BinaryHeap::new();
    let mut rows = 0;
    let slots = bars
        .iter()
        .map(|bar| {
            let start = bar.start.as_secs_f64() + slack;
            // Times are never negative, so their bits sort as the numbers do.
            while let Some(&Reverse((end, row))) = busy.peek() {
                if f64::from_bits(end) > start {
                    break;
                }
                busy.pop();
                free.insert(row);
            }
            let row = free.pop_first().unwrap_or_else(|| {
                rows += 1;
                rows - 1
            });
            busy.push(Reverse((bar.end.as_secs_f64().to_bits(), row)));
            row
        })
        .collect();
    (slots, rows.max(1))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn lanes_sort_naturally() {
        let mut names = vec!["Process-10", "Process-2", "Process-1"];
        names.sort_by_cached_key(|name| natural_key(name));
        assert_eq!(names, ["Process-1", "Process-2", "Process-10"]);
    }

    #[test]
    fn stacking_reuses_the_lowest_free_row() {
        let bar = |start: u64, end: u64| Bar {
            worker: Worker::Thread("main thread".into()),
            label: "x".into(),
            start: Duration::from_millis(start),
            end: Duration::from_millis(end),
            ok: true,
            value: None,
        };
        let bars = [bar(0, 10), bar(1, 5), bar(2, 20), bar(5, 8), bar(10, 12)];
        let refs: Vec<&Bar> = bars.iter().collect();
        assert_eq!(stack(&refs, 0.0), (vec![0, 1, 2, 1, 0], 3));
    }
}
