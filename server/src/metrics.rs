//! Prometheus metrics, served by `GET /metrics`: requests by route template,
//! method and status (counted by the routes' middleware); bytes uploaded,
//! downloaded and hashed (counted where the work commits); the cache's
//! limits and what its quota evicted, by reason; and, read at scrape time,
//! job counts by kind and state and the cache's footprint.
//! `prometheus-client` keeps the registry and writes the OpenMetrics text.

use std::sync::Arc;

use app::model::{CacheUsage, JobKind, JobStatus};
use axum::http::Method;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

/// The OpenMetrics text format, which Prometheus scrapes natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route matched (static files, 404s).
pub const UNMATCHED_ROUTE: &str = "fallback";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route template (`/images/{name}`), never the raw path, so the
    /// label's values are bounded by the routes.
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EvictionLabels {
    /// `quota` or `free_space`.
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: &'static str,
    state: &'static str,
}

/// The registry and every metric in it; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    jobs: Family<JobLabels, Gauge>,
    uploaded: Counter,
    downloaded: Counter,
    hashed: Counter,
    cache_bytes: Gauge,
    cache_files: Gauge,
    cache_free: Gauge,
    cache_quota: Gauge,
    cache_min_free: Gauge,
    evictions: Family<EvictionLabels, Counter>,
    evicted: Family<EvictionLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("bty");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register(
            "jobs",
            "Jobs in the database, by kind and state",
            jobs.clone(),
        );
        let uploaded = Counter::default();
        registry.register(
            "uploaded_bytes",
            "Bytes of uploads stored in the image root",
            uploaded.clone(),
        );
        let downloaded = Counter::default();
        registry.register(
            "downloaded_bytes",
            "Bytes downloaded into the cache",
            downloaded.clone(),
        );
        let hashed = Counter::default();
        registry.register(
            "hashed_bytes",
            "Bytes whose SHA-256 was computed (uploads and hash jobs)",
            hashed.clone(),
        );
        let cache_bytes = Gauge::default();
        registry.register(
            "cache_bytes",
            "Bytes the download cache occupies on disk",
            cache_bytes.clone(),
        );
        let cache_files = Gauge::default();
        registry.register(
            "cache_files",
            "Complete images in the download cache",
            cache_files.clone(),
        );
        let cache_free = Gauge::default();
        registry.register(
            "cache_free_bytes",
            "Bytes free on the download cache's file system",
            cache_free.clone(),
        );
        let cache_quota = Gauge::default();
        registry.register(
            "cache_quota_bytes",
            "BTY_CACHE_MAX_BYTES: what the download cache may hold (0: no quota)",
            cache_quota.clone(),
        );
        let cache_min_free = Gauge::default();
        registry.register(
            "cache_min_free_bytes",
            "BTY_CACHE_MIN_FREE_BYTES: what downloads keep free on the cache's file system",
            cache_min_free.clone(),
        );
        let evictions = Family::<EvictionLabels, Counter>::default();
        registry.register(
            "cache_evictions",
            "Cached images evicted to make room, by reason (quota or free_space)",
            evictions.clone(),
        );
        let evicted = Family::<EvictionLabels, Counter>::default();
        registry.register(
            "cache_evicted_bytes",
            "Bytes freed by evicting cached images to make room, by reason",
            evicted.clone(),
        );
        // Every reason is exported from the start, at 0.
        for reason in EVICTION_REASONS {
            let _ = evictions.get_or_create(&EvictionLabels { reason });
            let _ = evicted.get_or_create(&EvictionLabels { reason });
        }
        Metrics(Arc::new(Inner {
            registry,
            requests,
            jobs,
            uploaded,
            downloaded,
            hashed,
            cache_bytes,
            cache_files,
            cache_free,
            cache_quota,
            cache_min_free,
            evictions,
            evicted,
        }))
    }
}

impl Metrics {
    /// An upload of `bytes` was stored.
    pub fn add_uploaded(&self, bytes: u64) {
        self.0.uploaded.inc_by(bytes);
    }

    /// A download wrote `bytes` more into the cache.
    pub fn add_downloaded(&self, bytes: u64) {
        self.0.downloaded.inc_by(bytes);
    }

    /// `bytes` were hashed to completion.
    pub fn add_hashed(&self, bytes: u64) {
        self.0.hashed.inc_by(bytes);
    }

    /// The cache's limits, from the settings.
    pub fn set_cache_limits(&self, quota: Option<u64>, min_free: u64) {
        self.0.cache_quota.set(gauge(quota.unwrap_or(0)));
        self.0.cache_min_free.set(gauge(min_free));
    }

    /// The quota evicted an image of `bytes` for `reason` (`quota` or
    /// `free_space`).
    pub fn count_eviction(&self, reason: &'static str, bytes: u64) {
        let labels = EvictionLabels {
            reason: EVICTION_REASONS
                .into_iter()
                .find(|known| *known == reason)
                .unwrap_or("other"),
        };
        self.0.evictions.get_or_create(&labels).inc();
        self.0.evicted.get_or_create(&labels).inc_by(bytes);
    }

    /// One answered request.
    pub fn count_request(&self, route: &str, method: &Method, status: u16) {
        let labels = RequestLabels {
            route: route.to_owned(),
            method: method_label(method),
            status,
        };
        self.0.requests.get_or_create(&labels).inc();
    }

    /// The text exposition, after setting the scrape-time gauges.
    pub fn render(&self, jobs: &[(JobKind, JobStatus, u64)], cache: &CacheUsage) -> String {
        for kind in [JobKind::Hash, JobKind::Download] {
            for status in JOB_STATES {
                let count = jobs
                    .iter()
                    .filter(|(k, s, _)| *k == kind && *s == status)
                    .map(|(_, _, count)| *count)
                    .sum::<u64>();
                let labels = JobLabels {
                    kind: kind.as_str(),
                    state: status.as_str(),
                };
                self.0.jobs.get_or_create(&labels).set(gauge(count));
            }
        }
        self.0.cache_bytes.set(gauge(cache.bytes));
        self.0.cache_files.set(gauge(cache.files));
        self.0.cache_free.set(gauge(cache.free_bytes.unwrap_or(0)));
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.0.registry) {
            tracing::error!(%error, "metrics not encoded");
        }
        text
    }
}

const EVICTION_REASONS: [&str; 2] = ["quota", "free_space"];

const JOB_STATES: [JobStatus; 5] = [
    JobStatus::Queued,
    JobStatus::Running,
    JobStatus::Completed,
    JobStatus::Failed,
    JobStatus::Cancelled,
];

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Standard methods by name; anything else is `other`, so a client cannot
/// grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::PUT), "PUT");
        let custom = Method::from_bytes(b"BREW").expect("a method");
        assert_eq!(method_label(&custom), "other");
    }

    #[test]
    fn job_gauges_cover_every_kind_and_state_and_counters_read_back() {
        let metrics = Metrics::default();
        metrics.add_uploaded(7);
        metrics.add_downloaded(11);
        metrics.count_request("/images/{name}", &Method::PUT, 200);
        let cache = CacheUsage {
            bytes: 4096,
            free_bytes: Some(1 << 30),
            ..CacheUsage::default()
        };
        let text = metrics.render(&[(JobKind::Hash, JobStatus::Completed, 3)], &cache);
        assert!(text.contains("bty_uploaded_bytes_total 7"), "{text}");
        assert!(text.contains("bty_downloaded_bytes_total 11"), "{text}");
        assert!(text.contains("bty_cache_bytes 4096"), "{text}");
        assert!(text.contains("bty_cache_free_bytes 1073741824"), "{text}");
        assert!(text.contains("bty_cache_quota_bytes 0"), "no quota: {text}");
        assert!(
            text.contains(r#"bty_cache_evictions_total{reason="free_space"} 0"#),
            "{text}"
        );
        metrics.set_cache_limits(Some(3 << 30), 1 << 30);
        metrics.count_eviction("quota", 4096);
        metrics.count_eviction("quota", 8192);
        let text = metrics.render(&[(JobKind::Hash, JobStatus::Completed, 3)], &cache);
        assert!(text.contains("bty_cache_quota_bytes 3221225472"), "{text}");
        assert!(
            text.contains("bty_cache_min_free_bytes 1073741824"),
            "{text}"
        );
        assert!(
            text.contains(r#"bty_cache_evictions_total{reason="quota"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"bty_cache_evicted_bytes_total{reason="quota"} 12288"#),
            "{text}"
        );
        assert!(
            text.contains(r#"bty_jobs{kind="hash",state="completed"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"bty_jobs{kind="download",state="queued"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"bty_http_requests_total{route="/images/{name}",method="PUT",status="200"} 1"#
            ),
            "{text}"
        );
    }
}
