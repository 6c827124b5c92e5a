//! `jobs`: every hash and download job, the truth behind the job panes.

use app::model::{JobKind, JobStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: JobKind,
    pub name: String,
    pub path: Option<String>,
    pub src: Option<String>,
    pub status: JobStatus,
    pub bytes_done: i64,
    pub bytes_total: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    pub created_at: f64,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    /// Downloads: the attempt running or last run (1-based; 0 before the first).
    pub attempt: i32,
    /// Downloads: the upstream's ETag or Last-Modified (and size) seen on
    /// the first answer, sent in `If-Range` when the transfer resumes.
    pub validator: Option<String>,
    /// Downloads: fetch, or update (re-resolve a rolling entry). Hash
    /// jobs have the column's default, `fetch`.
    pub mode: DownloadMode,
    /// The replica (`BTY_NODE_ID`) that claimed the job, while it runs.
    pub claimed_by: Option<String>,
    /// Until when that claim holds without a heartbeat: seconds since the
    /// epoch by the database's clock. Past it, another replica may take
    /// the job over (PostgreSQL).
    pub lease_until: Option<f64>,
    /// Who asked, on another replica, to cancel the job while it ran (the
    /// actor as JSON); the replica running it stops it.
    pub cancel_requested_by: Option<String>,
    /// The bytes a running download reserved in the download cache (its
    /// partial file's size when complete), for the other replicas' room
    /// decisions.
    pub reserved_bytes: Option<i64>,
}

/// The two kinds of download job, stored as `fetch` and `update`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")]
pub enum DownloadMode {
    Fetch,
    Update,
}

impl DownloadMode {
    /// The stored name, which events also carry.
    pub fn as_str(self) -> &'static str {
        match self {
            DownloadMode::Fetch => "fetch",
            DownloadMode::Update => "update",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
