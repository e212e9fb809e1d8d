//! The server's latency, kept to the operating system's precision. tokio's timer counts whole
//! milliseconds and rounds each deadline up, which made every response about 1.2 ms late (a 20 ms
//! latency took 21.2 ms): 8% of io_sync's time at 20 ms, charged to the client in every ratio that
//! `compare` prints. Here one thread sleeps until the earliest deadline and wakes that response.

use std::collections::BTreeMap;
use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// A deadline and the response waiting for it.
type Alarm = (Instant, oneshot::Sender<()>);

/// A handle on the timer thread, which ends when the last handle is dropped.
#[derive(Clone)]
pub(super) struct Timer {
    alarms: mpsc::Sender<Alarm>,
}

impl Timer {
    pub(super) fn start() -> io::Result<Timer> {
        let (alarms, received) = mpsc::channel();
        thread::Builder::new().name("sites-timer".into()).spawn(move || ring(&received))?;
        Ok(Timer { alarms })
    }

    /// Waits `duration`, waking at most tens of microseconds late.
    pub(super) async fn sleep(&self, duration: Duration) {
        let Some(deadline) = Instant::now().checked_add(duration) else {
            return std::future::pending().await; // later than this machine can count: never
        };
        let (wake, woken) = oneshot::channel();
        if self.alarms.send((deadline, wake)).is_err() || woken.await.is_err() {
            // The timer thread is gone (it never is while the server runs): tokio's timer will do.
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// The timer thread: wakes each alarm at its deadline, earliest first.
fn ring(received: &mpsc::Receiver<Alarm>) {
    // Keyed by deadline, then by arrival, so that two alarms for the same instant both stay.
    let mut waiting: BTreeMap<(Instant, u64), oneshot::Sender<()>> = BTreeMap::new();
    for arrival in 0.. {
        while let Some(entry) =
            waiting.first_entry().filter(|entry| entry.key().0 <= Instant::now())
        {
            let _ = entry.remove().send(()); // the client may have hung up: nothing to wake
        }
        let next = match waiting.first_key_value() {
            Some(((deadline, _), _)) => {
                received.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
            None => received.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok((deadline, wake)) => {
                waiting.insert((deadline, arrival), wake);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn wakes_every_sleeper_no_earlier_than_asked() {
        let timer = Timer::start().unwrap();
        let start_time = Instant::now();
        // Two hundred alarms, many for the same instant: none may be lost or rung early.
        let sleeps = (0..200).map(|k| {
            let duration = Duration::from_millis(20 + k % 3 * 10);
            let timer = &timer;
            async move {
                timer.sleep(duration).await;
                (duration, start_time.elapsed())
            }
        });
        let all = futures_util::future::join_all(sleeps);
        let woken = tokio::time::timeout(Duration::from_secs(20), all).await.expect("all woke");
        for (asked, slept) in woken {
            assert!(slept >= asked, "asked for {asked:?}, woke after {slept:?}");
        }
    }
}
