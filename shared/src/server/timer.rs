//! The server's latency, kept to the operating system's precision. tokio's timer counts whole
//! milliseconds and rounds each deadline up, which made every response about 1.2 ms late (a 20 ms
//! latency took 21.2 ms): 8% of io_sync's time at 20 ms, charged to the client in every ratio that
//! `compare` prints. Here one thread sleeps until the earliest deadline and wakes that response.
//!
//! A new alarm wakes that thread only when it is due before every other one. With one latency for
//! all responses each new deadline is the latest, so 100 requests arriving together cost the
//! thread one wake-up, not 100: the server's CPU time for io_async's 160 downloads at 20 ms went
//! from 11.8 to 10.0 ms (the client's wall time did not move measurably).

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// A handle on the timer thread, which ends when the handle is dropped. Not `Clone`: the server's
/// requests share one through an `Arc`.
pub(super) struct Timer {
    shared: Arc<Shared>,
}

/// What the handle and the timer thread share: the alarms, and a signal for the thread.
struct Shared {
    alarms: Mutex<Alarms>,
    changed: Condvar,
}

#[derive(Default)]
struct Alarms {
    /// Keyed by deadline, then by arrival, so that two alarms for the same instant both stay.
    waiting: BTreeMap<(Instant, u64), oneshot::Sender<()>>,
    arrivals: u64,
    /// Set when the `Timer` is dropped (the thread then ends) or when the thread has ended.
    stopped: bool,
}

impl Timer {
    pub(super) fn start() -> io::Result<Timer> {
        let alarms = Mutex::new(Alarms::default());
        let shared = Arc::new(Shared { alarms, changed: Condvar::new() });
        let ringing = shared.clone();
        thread::Builder::new().name("sites-timer".into()).spawn(move || ring(&ringing))?;
        Ok(Timer { shared })
    }

    /// Waits `duration`, waking at most tens of microseconds late.
    pub(super) async fn sleep(&self, duration: Duration) {
        let Some(deadline) = Instant::now().checked_add(duration) else {
            return std::future::pending().await; // later than this machine can count: never
        };
        let (wake, woken) = oneshot::channel();
        let mut alarm = None;
        {
            let mut alarms = self.shared.lock();
            // Once the thread has ended (while the server runs, only by a panic), `wake` is dropped
            // here unsent, and tokio's timer below does the waiting.
            if !alarms.stopped {
                let key = (deadline, alarms.arrivals);
                alarms.arrivals += 1;
                alarms.waiting.insert(key, wake);
                if alarms.waiting.first_key_value().is_some_and(|(first, _)| *first == key) {
                    self.shared.changed.notify_one(); // the earliest now: the thread wakes sooner
                }
                alarm = Some(Alarm { shared: &self.shared, key });
            }
        }
        if woken.await.is_err() {
            tokio::time::sleep_until(deadline.into()).await;
        }
        drop(alarm);
    }
}

/// An alarm set by [`Timer::sleep`]: dropped with the sleep, even when its request is abandoned
/// first, it takes the alarm off the list, so that clients that hang up cannot fill the list with
/// alarms that only their deadline (up to a day away) would clear.
struct Alarm<'a> {
    shared: &'a Shared,
    key: (Instant, u64),
}

impl Drop for Alarm<'_> {
    fn drop(&mut self) {
        self.shared.lock().waiting.remove(&self.key);
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.shared.lock().stopped = true;
        self.shared.changed.notify_one();
    }
}

impl Shared {
    /// The alarms, even if a thread panicked holding them (every change to them is one insert, one
    /// remove or one flag, so they are whole).
    fn lock(&self) -> MutexGuard<'_, Alarms> {
        self.alarms.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The timer thread: wakes each alarm at its deadline, earliest first, until the handle is dropped.
fn ring(shared: &Shared) {
    let _ended = Ended(shared);
    let mut alarms = shared.lock();
    while !alarms.stopped {
        let now = Instant::now();
        while let Some(entry) = alarms.waiting.first_entry().filter(|entry| entry.key().0 <= now) {
            let _ = entry.remove().send(()); // the client may have hung up: nothing to wake
        }
        alarms = match alarms.waiting.first_key_value() {
            Some(((deadline, _), _)) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                shared.changed.wait_timeout(alarms, wait).map_or_else(|e| e.into_inner().0, |r| r.0)
            }
            None => shared.changed.wait(alarms).unwrap_or_else(std::sync::PoisonError::into_inner),
        };
    }
}

/// Marks the timer thread as ended when it returns or panics, and drops every waiting alarm: their
/// sleepers then wait on tokio's timer instead of for ever.
struct Ended<'a>(&'a Shared);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        let mut alarms = self.0.lock();
        alarms.stopped = true;
        alarms.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn wakes_every_sleeper_no_earlier_than_asked() {
        let timer = Timer::start().unwrap();
        let start_time = Instant::now();
        // Two hundred alarms, many for the same instant and some earlier than those before them:
        // none may be lost or rung early.
        let sleeps = (0..200).map(|k| {
            let duration = Duration::from_millis(20 + (200 - k) % 3 * 10);
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

    #[tokio::test(flavor = "current_thread")]
    async fn an_earlier_alarm_wakes_the_thread_from_a_later_one() {
        let timer = Timer::start().unwrap();
        let mut later = std::pin::pin!(timer.sleep(Duration::from_secs(3600)));
        // One poll sets the hour-long alarm; then the thread is left to fall asleep on it.
        let _ = tokio::time::timeout(Duration::ZERO, &mut later).await;
        thread::sleep(Duration::from_millis(50));
        let earlier = timer.sleep(Duration::from_millis(20));
        let woken = tokio::time::timeout(Duration::from_secs(20), earlier).await;
        assert!(woken.is_ok(), "the 20 ms alarm waited behind the hour-long one");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_abandoned_sleep_takes_its_alarm_off_the_list() {
        let timer = Timer::start().unwrap();
        let mut abandoned = Box::pin(timer.sleep(Duration::from_secs(3600)));
        let _ = tokio::time::timeout(Duration::ZERO, &mut abandoned).await;
        assert_eq!(timer.shared.lock().waiting.len(), 1, "the alarm is set");
        drop(abandoned); // as when a client hangs up before its answer
        assert!(timer.shared.lock().waiting.is_empty(), "the alarm is gone with its sleep");
    }

    #[test]
    fn the_thread_ends_with_the_handle() {
        let timer = Timer::start().unwrap();
        let shared = Arc::downgrade(&timer.shared);
        drop(timer);
        // The thread holds the last reference until it has seen that the handle is gone.
        let waited = Instant::now();
        while shared.strong_count() > 0 {
            assert!(waited.elapsed() < Duration::from_secs(20), "the timer thread did not end");
            thread::sleep(Duration::from_millis(1));
        }
    }
}
