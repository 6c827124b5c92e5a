//! Slows down password guessing: after a few failed logins from one
//! address, further attempts from it are refused for a while that doubles
//! with each failure (up to a cap), and a success clears the slate.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Failures allowed before attempts are refused.
const FREE_FAILURES: u32 = 5;
/// The first wait; each further failure doubles it.
const FIRST_WAIT: Duration = Duration::from_secs(10);
/// The longest wait.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);

#[derive(Clone, Default)]
pub struct LoginThrottle {
    failures: Arc<Mutex<HashMap<String, Failures>>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    fn blocked_until(&self) -> Option<Instant> {
        let over = self.count.checked_sub(FREE_FAILURES)?;
        let wait = FIRST_WAIT
            .checked_mul(1u32.checked_shl(over).unwrap_or(u32::MAX))
            .unwrap_or(MAX_WAIT)
            .min(MAX_WAIT);
        Some(self.last + wait)
    }
}

impl LoginThrottle {
    /// `Some(seconds)` to wait when `address` may not try now.
    pub fn wait_for(&self, address: &str) -> Option<u64> {
        self.wait_at(address, Instant::now())
    }

    fn wait_at(&self, address: &str, now: Instant) -> Option<u64> {
        let failures = self.failures.lock().ok()?;
        let until = failures.get(address)?.blocked_until()?;
        let left = until.checked_duration_since(now)?;
        Some(left.as_secs().max(1))
    }

    pub fn record_failure(&self, address: &str) {
        self.record_failure_at(address, Instant::now());
    }

    fn record_failure_at(&self, address: &str, now: Instant) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            let entry = failures.entry(address.to_owned()).or_insert(Failures {
                count: 0,
                last: now,
            });
            entry.count += 1;
            entry.last = now;
        }
    }

    pub fn record_success(&self, address: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(address);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_failures_are_free_then_waits_grow() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.wait_at("1.2.3.4", start), None);
            throttle.record_failure_at("1.2.3.4", start);
        }
        assert_eq!(throttle.wait_at("1.2.3.4", start), Some(10));
        throttle.record_failure_at("1.2.3.4", start);
        assert_eq!(throttle.wait_at("1.2.3.4", start), Some(20));
        assert_eq!(
            throttle.wait_at("5.6.7.8", start),
            None,
            "other addresses are unaffected"
        );
        assert_eq!(
            throttle.wait_at("1.2.3.4", start + Duration::from_secs(21)),
            None
        );
    }

    #[test]
    fn a_success_clears_the_failures() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..10 {
            throttle.record_failure_at("a", now);
        }
        assert!(throttle.wait_at("a", now).is_some());
        throttle.record_success("a");
        assert_eq!(throttle.wait_at("a", now), None);
    }

    #[test]
    fn waits_are_capped() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..100 {
            throttle.record_failure_at("a", now);
        }
        assert_eq!(throttle.wait_at("a", now), Some(MAX_WAIT.as_secs()));
    }
}
