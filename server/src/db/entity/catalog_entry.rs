//! `catalog_entries`: one row per image source, keyed by `bty_image_ref`.

use app::model::SourceKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bty_image_ref: String,
    #[sea_orm(unique)]
    pub src: String,
    pub disk_image_sha: Option<String>,
    pub name: String,
    pub sha_url: Option<String>,
    pub format: Option<String>,
    pub size_bytes: Option<i64>,
    pub description: Option<String>,
    pub added_at: String,
    pub source_kind: SourceKind,
    pub file_mtime_ns: Option<i64>,
    pub hashed_size: Option<i64>,
    pub hashed_mtime_ns: Option<i64>,
    /// The sha was observed (a download, a resolved rolling tag), not given
    /// by a catalog or an operator: the entry is rolling, not pinned.
    pub sha_observed: bool,
    /// The operator pinned the entry in the cache ("pin" on the page):
    /// its cached bytes are never evicted to make room. Not a pinned sha
    /// (`disk_image_sha` given by a catalog), which fixes the content.
    pub keep_cached: bool,
    /// When a flash client last read the entry's bytes (a byte-route GET
    /// or a stream-through), ISO-8601 UTC; written at most once a minute.
    pub last_used_at: Option<String>,
    /// The `ETag` the upstream sent with the bytes last downloaded.
    pub upstream_etag: Option<String>,
    /// The `Last-Modified` the upstream sent with the bytes last downloaded.
    pub upstream_last_modified: Option<String>,
    /// `oras://`: the digest (`sha256:…`) of the manifest the bytes last
    /// downloaded were resolved through.
    pub upstream_digest: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
