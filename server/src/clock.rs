//! Timestamps in the two shapes the reference uses: ISO-8601 UTC with
//! microseconds for rows and events, Unix epoch seconds for job times.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now as `2026-05-17T20:21:09.155109+00:00`.
pub fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// Now as Unix epoch seconds.
pub fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// A file's modification time in nanoseconds since the epoch.
pub fn mtime_ns(metadata: &std::fs::Metadata) -> i64 {
    metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_have_microseconds_and_utc_offset() {
        let ts = now_iso();
        assert_eq!(ts.len(), "2026-05-17T20:21:09.155109+00:00".len(), "{ts}");
        assert!(ts.ends_with("+00:00"));
    }
}
