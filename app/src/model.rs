//! Wire types shared by the server and the browser: JSON bodies of the API,
//! the payloads of the live stream, and the data a page is rendered from.
//! Plain serde types only; the database has its own entities on the server.
//! With `ssr`, the API's types also derive `utoipa::ToSchema`, so the
//! server's `/openapi.json` is generated from these very types.

use serde::{Deserialize, Serialize};

/// Where a catalog row's bytes or metadata come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A file in the image root.
    Local,
    /// An image URL an operator added.
    Url,
    /// An entry imported from a `catalog.toml`.
    Manifest,
}

impl SourceKind {
    /// The lowercase name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Local => "local",
            SourceKind::Url => "url",
            SourceKind::Manifest => "manifest",
        }
    }

    /// Parses the wire / database name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "local" => Some(SourceKind::Local),
            "url" => Some(SourceKind::Url),
            "manifest" => Some(SourceKind::Manifest),
            _ => None,
        }
    }
}

/// One origin of a unified catalog row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Source {
    pub kind: SourceKind,
    /// The absolute path of a local file, or the `src` URL of a remote entry.
    pub location: String,
}

/// One row of the unified catalog: every entry that shares a content SHA-256
/// or a `bty_image_ref` collapses into one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogRow {
    #[serde(rename = "ref")]
    pub image_ref: String,
    pub sha256: Option<String>,
    pub names: Vec<String>,
    pub format: Option<String>,
    pub size_bytes: Option<i64>,
    pub sources: Vec<Source>,
    /// The bytes are held here: a local file, or a cached download.
    pub cached: bool,
    /// A remote entry whose content is not pinned by a given SHA-256 (a
    /// rolling tag or URL): Update re-resolves and re-downloads it.
    #[serde(default)]
    pub rolling: bool,
}

impl CatalogRow {
    /// The display name: the first of the row's names.
    pub fn name(&self) -> &str {
        self.names.first().map(String::as_str).unwrap_or("")
    }

    /// True when one of the row's sources is a file in the image root.
    pub fn is_local(&self) -> bool {
        self.sources.iter().any(|s| s.kind == SourceKind::Local)
    }

    /// The first remote (operator-added or imported) source, if any.
    pub fn remote_source(&self) -> Option<&Source> {
        self.sources.iter().find(|s| s.kind != SourceKind::Local)
    }
}

/// The unified catalog as the Images page and the live stream carry it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogView {
    pub image_root: String,
    pub rows: Vec<CatalogRow>,
}

/// Rows per page of the catalog table: a page stays small whatever the
/// catalog's size.
pub const CATALOG_PAGE_SIZE: usize = 100;

impl CatalogRow {
    /// True when the filter text matches a name, the start of the SHA-256,
    /// a source location or the format (case-insensitive); empty matches all.
    pub fn matches(&self, query: &str) -> bool {
        let query = query.trim().to_lowercase();
        if query.is_empty() {
            return true;
        }
        let contains = |text: &str| text.to_lowercase().contains(&query);
        self.names.iter().any(|n| contains(n))
            || self
                .sha256
                .as_deref()
                .is_some_and(|sha| sha.starts_with(&query))
            || self.sources.iter().any(|s| contains(&s.location))
            || self.format.as_deref().is_some_and(contains)
    }
}

/// One page of the unified catalog, after a filter (`GET /catalog/view`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogPage {
    pub image_root: String,
    /// Rows in the whole catalog.
    pub total: usize,
    /// Rows the filter matched.
    pub matched: usize,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
    pub query: String,
    pub rows: Vec<CatalogRow>,
}

impl CatalogPage {
    /// The page `page` (1-based, clamped) of the rows of `view` matching `query`.
    pub fn of(view: &CatalogView, query: &str, page: usize) -> Self {
        let matching: Vec<&CatalogRow> =
            view.rows.iter().filter(|row| row.matches(query)).collect();
        let pages = matching.len().div_ceil(CATALOG_PAGE_SIZE).max(1);
        let page = page.clamp(1, pages);
        CatalogPage {
            image_root: view.image_root.clone(),
            total: view.rows.len(),
            matched: matching.len(),
            page,
            per_page: CATALOG_PAGE_SIZE,
            query: query.to_owned(),
            rows: matching
                .into_iter()
                .skip((page - 1) * CATALOG_PAGE_SIZE)
                .take(CATALOG_PAGE_SIZE)
                .cloned()
                .collect(),
        }
    }

    /// How many pages the filtered rows fill.
    pub fn pages(&self) -> usize {
        self.matched.div_ceil(self.per_page.max(1)).max(1)
    }
}

/// Life cycle of a background job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "completed" => Some(JobStatus::Completed),
            "cancelled" => Some(JobStatus::Cancelled),
            "failed" => Some(JobStatus::Failed),
            _ => None,
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

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Hash,
    Download,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Hash => "hash",
            JobKind::Download => "download",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "hash" => Some(JobKind::Hash),
            "download" => Some(JobKind::Download),
            _ => None,
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
/// (allocated blocks) and what the file system has left.
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

/// One audit-log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: i64,
    pub ts: String,
    pub kind: String,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub actor: Option<String>,
    pub source_ip: Option<String>,
    pub summary: String,
    pub details: Option<serde_json::Value>,
}

impl Event {
    /// Failure kinds (`*.failed`, `*_failed`) are shown in red.
    pub fn is_failure(&self) -> bool {
        self.kind.ends_with("failed")
    }

    /// `YYYY-MM-DD HH:MM:SS UTC`, as the reference's activity card shows it.
    pub fn when(&self) -> String {
        match self.ts.get(..19) {
            Some(head) => format!("{} UTC", head.replace('T', " ")),
            None => self.ts.clone(),
        }
    }
}

/// `GET /events` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventList {
    pub events: Vec<Event>,
}

/// The first message of the live stream, and the one sent again to a client
/// that fell behind: everything a page needs to redraw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LiveSnapshot {
    pub jobs: Vec<Job>,
    /// The first page of the unfiltered catalog.
    pub catalog: CatalogPage,
    #[serde(default)]
    pub cache: Option<CacheUsage>,
}

/// Names of the live stream's SSE events; the `data` of each is JSON.
pub mod live_event {
    /// [`super::LiveSnapshot`]
    pub const SNAPSHOT: &str = "snapshot";
    /// [`super::Job`]
    pub const JOB: &str = "job";
    /// [`super::CatalogPage`]: the first page of the unfiltered catalog,
    /// after it changed; a client showing another page or filter fetches
    /// `GET /catalog/view` again.
    pub const CATALOG: &str = "catalog";
    /// [`super::Event`]
    pub const EVENT: &str = "event";
    /// [`super::CacheUsage`]: the download cache after it filled or shrank.
    pub const CACHE: &str = "cache";
}

/// The sections of `/ui/images`, named by `?section=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImagesSection {
    List,
    Fetch,
    UploadCatalog,
    UploadImage,
    UploadImageFromUrl,
}

impl ImagesSection {
    pub const ALL: [ImagesSection; 5] = [
        ImagesSection::List,
        ImagesSection::Fetch,
        ImagesSection::UploadCatalog,
        ImagesSection::UploadImage,
        ImagesSection::UploadImageFromUrl,
    ];

    /// Any value other than a known section means the list, as in the reference.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("fetch") => ImagesSection::Fetch,
            Some("upload-catalog") => ImagesSection::UploadCatalog,
            Some("upload-image") => ImagesSection::UploadImage,
            Some("upload-image-from-url") => ImagesSection::UploadImageFromUrl,
            _ => ImagesSection::List,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            ImagesSection::List => "list",
            ImagesSection::Fetch => "fetch",
            ImagesSection::UploadCatalog => "upload-catalog",
            ImagesSection::UploadImage => "upload-image",
            ImagesSection::UploadImageFromUrl => "upload-image-from-url",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ImagesSection::List => "List",
            ImagesSection::Fetch => "Fetch catalog",
            ImagesSection::UploadCatalog => "Upload catalog",
            ImagesSection::UploadImage => "Upload image",
            ImagesSection::UploadImageFromUrl => "Upload image (from URL)",
        }
    }
}

/// Everything `/ui/images` is rendered from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImagesPage {
    pub operator: String,
    /// The page of the catalog the request asked for (`?q=`, `?page=`).
    pub catalog: CatalogPage,
    pub jobs: Vec<Job>,
    pub recent_events: Vec<Event>,
    pub hash_max_parallel: u32,
    pub release_repo: String,
    pub manifest_path: String,
    #[serde(default)]
    pub cache: Option<CacheUsage>,
    #[serde(default)]
    pub download_max_parallel: u32,
}

/// Rows per page of `/ui/events`.
pub const EVENTS_PAGE_SIZE: usize = 50;

/// The event kinds the Kind dropdown of `/ui/events` offers.
pub const KNOWN_EVENT_KINDS: [&str; 23] = [
    "image.uploaded",
    "image.upload_failed",
    "image.hashed",
    "image.hash_failed",
    "image.hash_cancelled",
    "catalog.entry.added",
    "catalog.entry.add_failed",
    "catalog.entry.deleted",
    "catalog.entries.imported",
    "catalog.download.requested",
    "catalog.download.started",
    "catalog.download.completed",
    "catalog.download.failed",
    "catalog.download.cancelled",
    "catalog.cache.deleted",
    "catalog.cache.populated",
    "auth.login.succeeded",
    "auth.login.failed",
    "auth.logout",
    "auth.token.created",
    "auth.token.revoked",
    "auth.operator.added",
    "auth.operator.password_changed",
];

/// The subject kinds the Subject kind dropdown of `/ui/events` offers.
pub const KNOWN_SUBJECT_KINDS: [&str; 3] = ["image", "catalog", "auth"];

/// The actors the Actor dropdown of `/ui/events` offers.
/// `cli` is the `bty-web` command line (operators, passwords, tokens).
pub const KNOWN_ACTORS: [&str; 4] = ["operator", "system", "pxe-client", "cli"];

/// The filters of `/ui/events`: all present ones must match. Empty query
/// values are treated as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct EventsFilter {
    pub kind: Option<String>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub actor: Option<String>,
    pub source_ip: Option<String>,
    /// Only `*failed` kinds (any non-empty `failed` value).
    #[cfg_attr(feature = "ssr", param(value_type = Option<String>))]
    pub failed: bool,
    /// Only events older than this id (the "Older" link).
    pub before_id: Option<i64>,
}

impl EventsFilter {
    /// Reads the filter from query values; empty values count as absent and
    /// a `before_id` that is not an integer is ignored.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Self {
        let text = |key: &str| get(key).filter(|value| !value.is_empty());
        EventsFilter {
            kind: text("kind"),
            subject_kind: text("subject_kind"),
            subject_id: text("subject_id"),
            actor: text("actor"),
            source_ip: text("source_ip"),
            failed: text("failed").is_some(),
            before_id: text("before_id").and_then(|id| id.trim().parse().ok()),
        }
    }

    /// True when nothing narrows the log.
    pub fn is_unfiltered(&self) -> bool {
        *self == EventsFilter::default()
    }

    /// True when `event` passes every filter present, as `GET /events` and
    /// `/ui/events` select them (exact values, `failed` on the kind's end,
    /// `before_id` on the id), so an event that arrives live is shown only
    /// where a reload would show it.
    pub fn matches(&self, event: &Event) -> bool {
        let exact = |wanted: &Option<String>, value: Option<&str>| {
            wanted.as_deref().is_none_or(|wanted| value == Some(wanted))
        };
        exact(&self.kind, Some(&event.kind))
            && exact(&self.subject_kind, event.subject_kind.as_deref())
            && exact(&self.subject_id, event.subject_id.as_deref())
            && exact(&self.actor, event.actor.as_deref())
            && exact(&self.source_ip, event.source_ip.as_deref())
            && (!self.failed || event.is_failure())
            && self.before_id.is_none_or(|before| event.id < before)
    }

    /// The query-string pairs of the filter, `before_id` excluded.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let fields = [
            ("kind", &self.kind),
            ("subject_kind", &self.subject_kind),
            ("subject_id", &self.subject_id),
            ("actor", &self.actor),
            ("source_ip", &self.source_ip),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if self.failed {
            pairs.push(("failed", "1".to_owned()));
        }
        pairs
    }
}

/// Everything `/ui/events` is rendered from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub operator: String,
    pub filter: EventsFilter,
    /// Newest first, at most [`EVENTS_PAGE_SIZE`].
    pub events: Vec<Event>,
}

impl EventsPage {
    /// The `before_id` of the "Older" link: the last id, when the page is full.
    pub fn older_before_id(&self) -> Option<i64> {
        if self.events.len() >= EVENTS_PAGE_SIZE {
            self.events.last().map(|event| event.id)
        } else {
            None
        }
    }
}

/// What the login page shows after a failed attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginNotice {
    pub username: String,
    pub error: Option<String>,
}

/// Longest API token name, in characters.
pub const TOKEN_NAME_MAX_CHARS: usize = 64;

/// An API token as listed (`GET /auth/tokens`, `/ui/tokens`): never the
/// secret, which only its creator sees, once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl ApiToken {
    /// False once revoked: the token opens nothing any more.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// `GET /auth/tokens` body: the caller's tokens, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiTokenList {
    pub tokens: Vec<ApiToken>,
}

/// `POST /auth/tokens` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewApiToken {
    pub name: String,
}

/// `POST /auth/tokens` answer (201): the token's record and its secret, the
/// only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedApiToken {
    /// The secret, for `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(flatten)]
    pub record: ApiToken,
}

/// What `/ui/tokens` shows after its create form was posted: the new
/// secret, or what was wrong with the name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenNotice {
    pub created: Option<CreatedApiToken>,
    pub error: Option<String>,
    /// The name as typed, to fill the form again after an error.
    pub name: String,
}

/// Everything `/ui/tokens` is rendered from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensPage {
    pub operator: String,
    /// The operator's tokens, oldest first, revoked ones included.
    pub tokens: Vec<ApiToken>,
    pub notice: TokenNotice,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sections_fall_back_to_the_list() {
        assert_eq!(ImagesSection::parse(Some("bogus")), ImagesSection::List);
        assert_eq!(ImagesSection::parse(None), ImagesSection::List);
        for section in ImagesSection::ALL {
            assert_eq!(ImagesSection::parse(Some(section.slug())), section);
        }
    }

    fn catalog_row(name: &str, sha: Option<&str>, location: &str) -> CatalogRow {
        CatalogRow {
            image_ref: format!("ref-{name}"),
            sha256: sha.map(str::to_owned),
            names: vec![name.to_owned()],
            format: Some("img.gz".into()),
            size_bytes: None,
            sources: vec![Source {
                kind: SourceKind::Manifest,
                location: location.to_owned(),
            }],
            cached: false,
            rolling: false,
        }
    }

    #[test]
    fn the_filter_matches_names_sha_prefixes_sources_and_formats() {
        let row = catalog_row(
            "Debian 12",
            Some("abcdef"),
            "https://mirror.example/d.img.gz",
        );
        for query in ["debian", "DEB", "abc", "mirror.example", "img.gz", "", "  "] {
            assert!(row.matches(query), "{query:?}");
        }
        for query in ["ubuntu", "def", "qcow2"] {
            assert!(!row.matches(query), "{query:?}");
        }
    }

    #[test]
    fn pages_hold_at_most_a_page_of_matching_rows() {
        let rows = (0..250)
            .map(|i| catalog_row(&format!("image-{i:03}"), None, "https://h/x"))
            .collect();
        let view = CatalogView {
            image_root: "/r".into(),
            rows,
        };
        let first = CatalogPage::of(&view, "", 1);
        assert_eq!(
            (first.total, first.matched, first.rows.len(), first.pages()),
            (250, 250, 100, 3)
        );
        let last = CatalogPage::of(&view, "", 99);
        assert_eq!(
            (last.page, last.rows.len()),
            (3, 50),
            "a page past the end is the last"
        );
        let filtered = CatalogPage::of(&view, "image-01", 1);
        assert_eq!(filtered.matched, 10);
        assert_eq!(filtered.rows[0].names[0], "image-010");
    }

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

    #[test]
    fn event_time_is_shown_to_the_second_in_utc() {
        let event = Event {
            id: 1,
            ts: "2026-05-17T20:21:09.155109+00:00".into(),
            kind: "image.hashed".into(),
            subject_kind: None,
            subject_id: None,
            actor: None,
            source_ip: None,
            summary: String::new(),
            details: None,
        };
        assert_eq!(event.when(), "2026-05-17 20:21:09 UTC");
    }

    fn audit_event(id: i64, kind: &str, subject: (&str, &str), actor: &str) -> Event {
        Event {
            id,
            ts: "2026-05-17T20:21:09+00:00".into(),
            kind: kind.into(),
            subject_kind: Some(subject.0.into()),
            subject_id: Some(subject.1.into()),
            actor: Some(actor.into()),
            source_ip: Some("10.0.0.7".into()),
            summary: String::new(),
            details: None,
        }
    }

    #[test]
    fn an_empty_filter_matches_every_event() {
        let event = audit_event(1, "image.uploaded", ("image", "a.img"), "operator");
        assert!(EventsFilter::default().matches(&event));
    }

    #[test]
    fn each_filter_field_must_match_exactly() {
        let event = audit_event(9, "image.uploaded", ("image", "a.img"), "operator");
        let pass = |filter: EventsFilter| filter.matches(&event);
        let some = |text: &str| Some(text.to_owned());
        assert!(pass(EventsFilter {
            kind: some("image.uploaded"),
            subject_kind: some("image"),
            subject_id: some("a.img"),
            actor: some("operator"),
            source_ip: some("10.0.0.7"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            kind: some("image.hashed"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            subject_kind: some("catalog"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            subject_id: some("a.im"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            actor: some("system"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            source_ip: some("10.0.0.8"),
            ..Default::default()
        }));
    }

    #[test]
    fn an_event_without_a_subject_does_not_match_a_subject_filter() {
        let mut event = audit_event(2, "auth.logout", ("auth", "admin"), "operator");
        event.subject_kind = None;
        let filter = EventsFilter {
            subject_kind: Some("auth".into()),
            ..Default::default()
        };
        assert!(!filter.matches(&event));
    }

    #[test]
    fn failed_only_keeps_failure_kinds_and_before_id_keeps_older_ones() {
        let failed = EventsFilter {
            failed: true,
            ..Default::default()
        };
        let upload_failed = audit_event(5, "image.upload_failed", ("image", "a"), "operator");
        let login_failed = audit_event(6, "auth.login.failed", ("auth", "x"), "operator");
        let uploaded = audit_event(7, "image.uploaded", ("image", "a"), "operator");
        assert!(failed.matches(&upload_failed));
        assert!(failed.matches(&login_failed));
        assert!(!failed.matches(&uploaded));
        let older = EventsFilter {
            before_id: Some(6),
            ..Default::default()
        };
        assert!(older.matches(&upload_failed));
        assert!(!older.matches(&login_failed));
        assert!(!older.matches(&uploaded));
    }

    #[test]
    fn events_filter_treats_empty_values_as_absent() {
        let query = |key: &str| match key {
            "kind" => Some(String::new()),
            "actor" => Some("system".to_owned()),
            "failed" => Some("on".to_owned()),
            "before_id" => Some("x".to_owned()),
            _ => None,
        };
        let filter = EventsFilter::from_query(query);
        assert_eq!(filter.kind, None);
        assert_eq!(filter.actor.as_deref(), Some("system"));
        assert!(filter.failed);
        assert_eq!(filter.before_id, None);
        assert!(!filter.is_unfiltered());
        assert!(EventsFilter::from_query(|_| Some(String::new())).is_unfiltered());
    }
}
