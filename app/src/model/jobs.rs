//! Background jobs (hashes and downloads) and the bodies of their API:
//! queue, list, cancel, evict, and the download cache's usage.

use serde::{Deserialize, Serialize};

/// Life cycle of a background job. On the server it is also the type of
/// the `jobs.status` column: a value it does not name fails the read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Failed => "failed",
        }
    }

    /// Queued or running: the job can still be cancelled.
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }

    /// Display order in the job panes: running first, finished last.
    pub fn sort_rank(self) -> u8 {
        match self {
            JobStatus::Running => 0,
            JobStatus::Queued => 1,
            JobStatus::Failed => 2,
            JobStatus::Cancelled => 3,
            JobStatus::Completed => 4,
        }
    }
}

/// What a job does; on the server also the type of the `jobs.kind` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Hash,
    Download,
    /// What an image's bytes are (format, uncompressed size and digest,
    /// safety); runs in the hash pool after the hash, in its pane.
    Inspect,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Hash => "hash",
            JobKind::Download => "download",
            JobKind::Inspect => "inspect",
        }
    }
}

/// A background job as the live stream and the job panes show it. Byte
/// counts are absolute, so any single update is enough to redraw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub name: String,
    pub status: JobStatus,
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    /// Unix epoch seconds.
    pub started_at: Option<f64>,
    /// Unix epoch seconds.
    pub finished_at: Option<f64>,
    /// Average bytes per second since the job started, while it runs.
    pub rate_bps: Option<f64>,
    /// Downloads: the attempt now running or last run (1-based; 0 while
    /// queued for the first time). Transient errors retry with backoff.
    #[serde(default)]
    pub attempt: u32,
}

impl Job {
    /// Progress in percent, when the total is known.
    pub fn percent(&self) -> Option<f64> {
        match self.bytes_total {
            Some(0) => Some(100.0),
            Some(total) => Some((self.bytes_done as f64 * 100.0 / total as f64).min(100.0)),
            None => None,
        }
    }

    /// Seconds left at the current rate, while the job runs.
    pub fn eta_seconds(&self) -> Option<f64> {
        let rate = self.rate_bps.filter(|r| *r > 0.0)?;
        let total = self.bytes_total?;
        (self.status == JobStatus::Running)
            .then(|| total.saturating_sub(self.bytes_done) as f64 / rate)
    }
}

/// `GET /catalog/hashes` item: the reference's `HashState`, field for field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HashState {
    pub name: String,
    pub path: String,
    pub status: JobStatus,
    pub bytes_hashed: u64,
    pub bytes_total: Option<u64>,
    pub sha256: Option<String>,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub error: Option<String>,
}

/// `GET /catalog/hashes` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HashList {
    pub image_root: String,
    pub max_parallel: u32,
    pub hashes: Vec<HashState>,
}

/// `POST /catalog/hashes` (and later `/catalog/downloads`) body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnqueueRequest {
    /// One path segment: no `/`, `\`, NUL; not `.` or `..`.
    #[cfg_attr(feature = "ssr", schema(min_length = 1, pattern = r"^[^/\\\x00]+$"))]
    pub name: String,
}

/// `POST /catalog/downloads` body: the reference's `{"name"}`, where the
/// name may also be an entry's `ref`, plus `update` for rolling entries
/// (re-resolve and download again; the old bytes stay until the new ones
/// are verified).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DownloadRequest {
    /// An entry's name (one path segment: no `/`, `\`, NUL; not `.` or
    /// `..`) or its 64-hex `ref`.
    #[cfg_attr(feature = "ssr", schema(min_length = 1, pattern = r"^[^/\\\x00]+$"))]
    pub name: String,
    #[serde(default)]
    pub update: bool,
}

/// `GET /catalog/downloads` item: the reference's `DownloadState`, field for
/// field, plus `attempt`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DownloadState {
    pub name: String,
    pub sha256: Option<String>,
    pub src: Option<String>,
    pub status: JobStatus,
    pub bytes_downloaded: u64,
    pub bytes_total: Option<u64>,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub error: Option<String>,
    pub attempt: u32,
}

/// `GET /catalog/downloads` body: the reference's keys (`manifest` is the
/// imported catalog file, null when none was ever loaded) plus the cache's
/// disk usage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DownloadList {
    pub manifest: Option<String>,
    pub cache_dir: String,
    pub max_parallel: u32,
    pub downloads: Vec<DownloadState>,
    pub cache: CacheUsage,
}

/// `DELETE /catalog/cache/{name}` answer (reference 1.13).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EvictResult {
    pub name: String,
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_image_sha: Option<String>,
}

/// The download cache's footprint: what its files really take on disk
/// (allocated blocks), what the file system has left, and the quota.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CacheUsage {
    pub cache_dir: String,
    /// Cached images (complete files named by their SHA-256).
    pub files: u64,
    /// Bytes the cache's files occupy on disk, partial downloads included.
    pub bytes: u64,
    /// Bytes free for an unprivileged writer on the cache's file system.
    pub free_bytes: Option<u64>,
    /// Size of the cache's file system.
    pub total_bytes: Option<u64>,
    /// `BTY_CACHE_MAX_BYTES`: what `bytes` may reach before least recently
    /// used images are evicted; none when unset (no quota).
    #[serde(default)]
    pub quota_bytes: Option<u64>,
}

/// `PUT|DELETE /catalog/cache/{name}/pin` answer: whether the entry is
/// now pinned in the cache (kept: never evicted to make room).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CachePin {
    pub name: String,
    #[serde(rename = "ref")]
    pub image_ref: String,
    pub keep_cached: bool,
}

/// `PUT /images/{name}` answer: the reference's fields plus `sha256`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadResult {
    pub name: String,
    pub size_bytes: u64,
    /// Absolute path on the server.
    pub path: String,
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_jobs_sort_before_queued_and_finished_ones() {
        let mut statuses = [
            JobStatus::Completed,
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Failed,
        ];
        statuses.sort_by_key(|s| s.sort_rank());
        assert_eq!(statuses[0], JobStatus::Running);
        assert_eq!(statuses[3], JobStatus::Completed);
    }
}
