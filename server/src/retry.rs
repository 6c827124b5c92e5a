//! How outbound requests retry transient failures (429, 5xx, a cut or slow
//! connection): a bounded number of attempts, pauses that double up to a
//! cap, and a `Retry-After` honoured when it is short. The registry client
//! and the download workers share it.

use std::time::Duration;

use reqwest::{
    header::{HeaderMap, RETRY_AFTER},
    StatusCode,
};

/// A retry policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The pause after the first failure; each later one doubles.
    pub first_pause: Duration,
    /// No pause is longer than this.
    pub longest_pause: Duration,
    /// A `Retry-After` longer than this ends the retries.
    pub longest_retry_after: Duration,
}

impl RetryPolicy {
    /// Registry metadata: quick retries, a short patience.
    pub const REGISTRY: RetryPolicy = RetryPolicy {
        attempts: 4,
        first_pause: Duration::from_millis(500),
        longest_pause: Duration::from_secs(8),
        longest_retry_after: Duration::from_secs(5),
    };

    /// Image downloads: more patience, since a transfer is worth keeping.
    pub const DOWNLOAD: RetryPolicy = RetryPolicy {
        attempts: 5,
        first_pause: Duration::from_millis(500),
        longest_pause: Duration::from_secs(30),
        longest_retry_after: Duration::from_secs(60),
    };

    /// The pause before trying again after attempt `attempt` (1-based)
    /// failed, or `None` when the attempts are used up or the upstream
    /// asked to wait longer than the policy allows.
    pub fn pause_after(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.attempts {
            return None;
        }
        match retry_after {
            Some(asked) if asked > self.longest_retry_after => None,
            Some(asked) => Some(asked),
            None => {
                let doublings = attempt.saturating_sub(1).min(16);
                Some(
                    self.first_pause
                        .saturating_mul(1 << doublings)
                        .min(self.longest_pause),
                )
            }
        }
    }
}

/// 429 and 5xx: the upstream is busy or broken for now.
pub fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` in seconds (the HTTP-date form falls back to backoff).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap_and_stop_after_the_last_attempt() {
        let policy = RetryPolicy {
            attempts: 6,
            first_pause: Duration::from_secs(1),
            longest_pause: Duration::from_secs(5),
            longest_retry_after: Duration::from_secs(10),
        };
        let pauses: Vec<_> = (1..=6).map(|a| policy.pause_after(a, None)).collect();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(pauses, [secs(1), secs(2), secs(4), secs(5), secs(5), None]);
    }

    #[test]
    fn a_short_retry_after_is_waited_and_a_long_one_gives_up() {
        let policy = RetryPolicy::DOWNLOAD;
        let short = Some(Duration::from_secs(3));
        assert_eq!(policy.pause_after(1, short), short);
        assert_eq!(policy.pause_after(1, Some(Duration::from_secs(3600))), None);
    }

    #[test]
    fn busy_and_broken_answers_are_transient_others_are_not() {
        for code in [429, 500, 502, 503, 504] {
            assert!(is_transient(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [200, 206, 400, 401, 403, 404, 416] {
            assert!(!is_transient(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
