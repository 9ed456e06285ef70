//! Throttling of guesses: after [`MAX_FAILURES`] wrong PINs or passwords for one key (an application's PIN pad, a
//! username) within [`WINDOW`], further attempts on that key are refused unchecked until the window has passed. The
//! count is per instance: behind a load balancer of `n` instances a guesser gets at most `n` times as many tries.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Wrong attempts allowed per key and window.
pub const MAX_FAILURES: u32 = 5;
/// How long wrong attempts are remembered, and how long a throttled key waits.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most (a flood of distinct usernames cannot grow the map without bound).
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// How long `key` must wait before it may be tried again, if it is throttled now.
    pub fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().expect("lock");
        let (count, since) = failures.get(key)?;
        let elapsed = now.duration_since(*since);
        (*count >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    /// Counts a wrong attempt on `key`.
    pub fn failed(&self, key: &str, now: Instant) {
        let mut failures = self.failures.lock().expect("lock");
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        }
        let entry = failures.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) >= WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    /// Forgets the wrong attempts on `key` (after a right one).
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().expect("lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_throttled_after_five_failures_until_the_window_passes() {
        let throttle = Throttle::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed("pin:app", start);
        }
        assert_eq!(throttle.wait("pin:app", start), None);
        throttle.failed("pin:app", start);
        assert_eq!(throttle.wait("pin:app", start + Duration::from_secs(60)), Some(WINDOW - Duration::from_secs(60)));
        assert_eq!(throttle.wait("pin:other", start), None);
        assert_eq!(throttle.wait("pin:app", start + WINDOW), None);
        throttle.failed("pin:app", start + WINDOW);
        assert_eq!(throttle.wait("pin:app", start + WINDOW), None, "a new window starts from one failure");
    }

    #[test]
    fn a_right_attempt_forgets_the_wrong_ones() {
        let throttle = Throttle::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            throttle.failed("password:demo:anna", start);
        }
        throttle.succeeded("password:demo:anna");
        assert_eq!(throttle.wait("password:demo:anna", start), None);
    }
}
