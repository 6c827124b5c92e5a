//! What the catalog rows record for the download cache's policy: the
//! operator's cache pin (`keep_cached`; the page says "pin"; not a sha
//! pinned by a catalog, which fixes the content), when a flash client last
//! read an entry's bytes, and the upstream's validators of the bytes last
//! downloaded, which an Update sends back to ask whether anything changed.

use app::model::{CachePin, SourceKind};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, Set,
};

use super::{events, lookup::DownloadSource, names, service::Catalog};
use crate::{
    audit::Actor,
    cache::ReadKey,
    clock,
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
};

/// Why an entry was not pinned or unpinned.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("{0}")]
    BadName(#[from] names::NameError),
    #[error("no catalog entry named '{0}'")]
    NoEntry(String),
    #[error("'{0}' is a file in the image root: the cache never evicts it, so it needs no pin")]
    LocalOnly(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What the upstream said about the bytes a download brought.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamMarks {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// `oras://`: the manifest's digest (`sha256:…`).
    pub digest: Option<String>,
}

impl UpstreamMarks {
    /// What the row of an entry kept from its last download.
    pub fn of(entry: &catalog_entry::Model) -> Self {
        UpstreamMarks {
            etag: entry.upstream_etag.clone(),
            last_modified: entry.upstream_last_modified.clone(),
            digest: entry.upstream_digest.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none() && self.digest.is_none()
    }
}

impl Catalog {
    /// Pins (`keep`) or unpins in the cache the remote entry `key` names (a
    /// name or a ref, as downloads find it), and every remote entry with the
    /// same content, which the page shows as one row. Logs
    /// `catalog.cache.pinned` or `catalog.cache.unpinned` when that changed
    /// anything.
    pub async fn set_keep_cached(
        &self,
        key: &str,
        keep: bool,
        actor: &Actor,
    ) -> Result<CachePin, PinError> {
        names::check_name(key)?;
        let entry = match self.lookup(key).download_source().await? {
            DownloadSource::Remote(entry) => *entry,
            DownloadSource::LocalOnly => return Err(PinError::LocalOnly(key.to_owned())),
            DownloadSource::Missing => return Err(PinError::NoEntry(key.to_owned())),
        };
        let mut same = CatalogEntries::find()
            .filter(catalog_entry::Column::SourceKind.ne(SourceKind::Local))
            .filter(catalog_entry::Column::KeepCached.ne(keep));
        same = match &entry.disk_image_sha {
            Some(sha) => same.filter(
                Condition::any()
                    .add(catalog_entry::Column::DiskImageSha.eq(sha.as_str()))
                    .add(catalog_entry::Column::Src.eq(entry.src.as_str())),
            ),
            None => same.filter(catalog_entry::Column::Src.eq(entry.src.as_str())),
        };
        let changed = same.all(&self.core.db).await?;
        for row in &changed {
            let mut active: catalog_entry::ActiveModel = row.clone().into();
            active.keep_cached = Set(keep);
            active.update(&self.core.db).await?;
        }
        if !changed.is_empty() {
            let names: Vec<&str> = changed.iter().map(|row| row.name.as_str()).collect();
            events::cache_pin_changed(&self.core, actor, &entry, keep, &names).await;
            self.changed();
        }
        Ok(CachePin {
            name: entry.name,
            image_ref: entry.bty_image_ref,
            keep_cached: keep,
        })
    }

    /// A flash client read bytes now: the entries with that content (or
    /// that source) were used. Not part of the unified view, so open pages
    /// are not told.
    pub async fn record_use(&self, used: &ReadKey) -> Result<(), DbErr> {
        let filter = match used {
            ReadKey::Content(sha) => catalog_entry::Column::DiskImageSha.eq(sha.as_str()),
            ReadKey::Source(src) => catalog_entry::Column::Src.eq(src.as_str()),
        };
        CatalogEntries::update_many()
            .col_expr(
                catalog_entry::Column::LastUsedAt,
                Expr::value(clock::now_iso()),
            )
            .filter(filter)
            .filter(catalog_entry::Column::SourceKind.ne(SourceKind::Local))
            .exec(&self.core.db)
            .await?;
        Ok(())
    }

    /// Keeps what the upstream said about the bytes just downloaded for
    /// the entry `src`, for the next Update to ask with. Not shown, so
    /// open pages are not told.
    pub async fn record_upstream(&self, src: &str, marks: &UpstreamMarks) -> Result<(), DbErr> {
        CatalogEntries::update_many()
            .col_expr(
                catalog_entry::Column::UpstreamEtag,
                Expr::value(marks.etag.clone()),
            )
            .col_expr(
                catalog_entry::Column::UpstreamLastModified,
                Expr::value(marks.last_modified.clone()),
            )
            .col_expr(
                catalog_entry::Column::UpstreamDigest,
                Expr::value(marks.digest.clone()),
            )
            .filter(catalog_entry::Column::Src.eq(src))
            .exec(&self.core.db)
            .await?;
        Ok(())
    }

    /// The remote entries whose content is one of `shas`: who holds what
    /// the cache has, for deciding what may be evicted.
    pub async fn remote_entries_with_shas(
        &self,
        shas: &[String],
    ) -> Result<Vec<catalog_entry::Model>, DbErr> {
        if shas.is_empty() {
            return Ok(Vec::new());
        }
        CatalogEntries::find()
            .filter(catalog_entry::Column::DiskImageSha.is_in(shas.iter().map(String::as_str)))
            .filter(catalog_entry::Column::SourceKind.ne(SourceKind::Local))
            .all(&self.core.db)
            .await
    }
}
