//! The catalog service: the one owner of the `catalog_entries` rows. It
//! reads them by key ([`Catalog::lookup`]), writes every one of them, and
//! keeps the unified view they make, rebuilt only after a change. Every
//! write tells open pages by itself ([`Live::catalog_changed`]), so no
//! writer can forget to. Adding by URL and importing a catalog are its
//! methods too, in `entries.rs` and `import.rs`.
//!
//! [`Live::catalog_changed`]: crate::live::Live::catalog_changed

use std::sync::{Arc, Mutex};

use app::model::{CatalogView, SourceKind};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set,
};

use super::{
    events,
    format::detect_format,
    identity::{image_ref_for_src, local_src},
    lookup::Lookup,
    stamp::FileStamp,
    unified, ImageRootLock,
};
use crate::{
    audit::Actor,
    clock,
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    plumbing::Core,
};

/// The handle to the catalog: cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    pub(in crate::catalog) core: Core,
    view: ViewCache,
    image_root: ImageRootLock,
}

/// Why an entry was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("no catalog entry with src={0}")]
    NotFound(String),
    #[error("{0} is a file in the image root; delete the file and its entry goes with it")]
    Local(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl Catalog {
    pub fn new(core: Core) -> Self {
        Catalog {
            core,
            view: ViewCache::default(),
            image_root: ImageRootLock::default(),
        }
    }

    /// Serializes changes to the image root and its `local` rows (see
    /// [`ImageRootLock`]).
    pub async fn lock_image_root(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.image_root.lock().await
    }

    /// What `key` (a file name, a name, a `bty_image_ref` or a content
    /// SHA-256) names in the catalog.
    pub fn lookup<'a>(&'a self, key: &'a str) -> Lookup<'a> {
        Lookup::new(self, key)
    }

    /// The unified catalog now: built once per change and shared, since
    /// large catalogs (thousands of entries) are read far more than written.
    pub async fn view(&self) -> Result<Arc<CatalogView>, DbErr> {
        let live = &self.core.live;
        let generation = live.catalog_generation();
        if let Some(view) = self.view.get(generation) {
            return Ok(view);
        }
        let settings = &self.core.settings;
        let view = Arc::new(
            unified::load(&self.core.db, &settings.image_root(), &settings.cache_dir()).await?,
        );
        // A change that landed while this was built makes it stale: keep it
        // only if the generation did not move.
        self.view
            .put(generation, live.catalog_generation(), view.clone());
        Ok(view)
    }

    /// Every entry, oldest first.
    pub async fn entries(&self) -> Result<Vec<catalog_entry::Model>, DbErr> {
        CatalogEntries::find()
            .order_by_asc(catalog_entry::Column::AddedAt)
            .all(&self.core.db)
            .await
    }

    /// The entry with this exact source.
    pub async fn entry_by_src(&self, src: &str) -> Result<Option<catalog_entry::Model>, DbErr> {
        CatalogEntries::find()
            .filter(catalog_entry::Column::Src.eq(src))
            .one(&self.core.db)
            .await
    }

    /// The `local` row of the image-root file `name`.
    pub async fn local_entry(&self, name: &str) -> Result<Option<catalog_entry::Model>, DbErr> {
        self.entry_by_src(&local_src(name)).await
    }

    /// Every `local` row (one per file in the image root).
    pub async fn local_entries(&self) -> Result<Vec<catalog_entry::Model>, DbErr> {
        CatalogEntries::find()
            .filter(catalog_entry::Column::SourceKind.eq(SourceKind::Local))
            .all(&self.core.db)
            .await
    }

    /// How many entries have the content `sha256`.
    pub async fn entries_with_sha(&self, sha256: &str) -> Result<u64, DbErr> {
        CatalogEntries::find()
            .filter(catalog_entry::Column::DiskImageSha.eq(sha256))
            .count(&self.core.db)
            .await
    }

    /// A new file in the image root: its `local` row, with the digest its
    /// sidecar vouches for, if any. Hold the image-root lock.
    pub async fn add_local_file(
        &self,
        name: &str,
        stamp: FileStamp,
        sidecar_sha: Option<String>,
    ) -> Result<(), DbErr> {
        let Some(mut row) = new_local_row(name) else {
            return Ok(());
        };
        set_stamp(&mut row, stamp, sidecar_sha);
        // Another replica sharing the image root may have recorded the
        // file first (its upload, or its reconciler before a failover):
        // its row stands, and the next pass compares stamps as usual.
        let inserted = CatalogEntries::insert(row)
            .on_conflict(
                OnConflict::column(catalog_entry::Column::BtyImageRef)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.core.db)
            .await?;
        if inserted > 0 {
            self.changed();
        }
        Ok(())
    }

    /// A file in the image root changed size or time: its row takes the
    /// new stamp and `sha256`, the digest that describes the file now (or
    /// none). Hold the image-root lock.
    pub async fn restamp_local_file(
        &self,
        row: catalog_entry::Model,
        stamp: FileStamp,
        sha256: Option<String>,
    ) -> Result<(), DbErr> {
        let mut active: catalog_entry::ActiveModel = row.into();
        set_stamp(&mut active, stamp, sha256);
        active.update(&self.core.db).await?;
        self.changed();
        Ok(())
    }

    /// The file of this `local` row is gone: the row goes, so it is never
    /// offered again. Hold the image-root lock.
    pub async fn remove_local_file(&self, row: catalog_entry::Model) -> Result<(), DbErr> {
        CatalogEntries::delete_by_id(row.bty_image_ref)
            .exec(&self.core.db)
            .await?;
        self.changed();
        Ok(())
    }

    /// Records a file whose digest is known (an upload): inserts its
    /// `local` row or replaces what the row said. Hold the image-root lock.
    pub async fn record_hashed_file(
        &self,
        name: &str,
        stamp: FileStamp,
        sha256: &str,
    ) -> Result<(), DbErr> {
        let existing = self.local_entry(name).await?;
        let is_new = existing.is_none();
        let mut row: catalog_entry::ActiveModel = match existing {
            Some(row) => row.into(),
            None => match new_local_row(name) {
                Some(row) => row,
                None => return Ok(()),
            },
        };
        row.format = Set(detect_format(name).map(str::to_owned));
        set_stamp(&mut row, stamp, Some(sha256.to_owned()));
        if is_new {
            // A replica sharing the image root may insert the row between
            // the read above and here (its reconciler saw the renamed
            // file): the upload's digest and stamp win.
            CatalogEntries::insert(row)
                .on_conflict(
                    OnConflict::column(catalog_entry::Column::BtyImageRef)
                        .update_columns(LOCAL_FILE_COLUMNS)
                        .to_owned(),
                )
                .exec_without_returning(&self.core.db)
                .await?;
        } else {
            row.update(&self.core.db).await?;
        }
        self.changed();
        Ok(())
    }

    /// A hash job's digest of the image-root file `name`, as it was when
    /// hashed. Hold the image-root lock.
    pub async fn record_digest(
        &self,
        name: &str,
        sha256: &str,
        stamp: FileStamp,
    ) -> Result<(), DbErr> {
        CatalogEntries::update_many()
            .col_expr(catalog_entry::Column::DiskImageSha, Expr::value(sha256))
            .col_expr(catalog_entry::Column::HashedSize, Expr::value(stamp.size))
            .col_expr(
                catalog_entry::Column::HashedMtimeNs,
                Expr::value(stamp.mtime_ns),
            )
            .col_expr(catalog_entry::Column::SizeBytes, Expr::value(stamp.size))
            .col_expr(
                catalog_entry::Column::FileMtimeNs,
                Expr::value(stamp.mtime_ns),
            )
            .filter(catalog_entry::Column::Src.eq(local_src(name)))
            .exec(&self.core.db)
            .await?;
        self.changed();
        Ok(())
    }

    /// The sha a download observed for the unpinned entry `src` (D9).
    pub async fn back_fill(&self, src: &str, sha256: &str, bytes: u64) -> Result<(), DbErr> {
        CatalogEntries::update_many()
            .col_expr(catalog_entry::Column::DiskImageSha, Expr::value(sha256))
            .col_expr(catalog_entry::Column::ShaObserved, Expr::value(true))
            .col_expr(
                catalog_entry::Column::SizeBytes,
                Expr::value(i64::try_from(bytes).unwrap_or(i64::MAX)),
            )
            .filter(catalog_entry::Column::Src.eq(src))
            .exec(&self.core.db)
            .await?;
        self.changed();
        Ok(())
    }

    /// Deletes the remote entry whose `src` is exactly this one and logs
    /// `catalog.entry.deleted`. A file in the image root is deleted by
    /// deleting the file; its row follows.
    pub async fn delete_remote(&self, src: &str, actor: &Actor) -> Result<(), DeleteError> {
        let row = self
            .entry_by_src(src)
            .await?
            .ok_or_else(|| DeleteError::NotFound(src.to_owned()))?;
        if row.source_kind == SourceKind::Local {
            return Err(DeleteError::Local(src.to_owned()));
        }
        CatalogEntries::delete_by_id(row.bty_image_ref.clone())
            .exec(&self.core.db)
            .await?;
        events::entry_deleted(&self.core, actor, &row).await;
        self.changed();
        Ok(())
    }

    /// Tells open pages the catalog changed; every write ends with it.
    pub(in crate::catalog) fn changed(&self) {
        self.core.live.catalog_changed();
    }
}

/// A new `local` row for the image-root file `name`, without its stamp;
/// `None` when the name makes no valid source.
fn new_local_row(name: &str) -> Option<catalog_entry::ActiveModel> {
    let src = local_src(name);
    let image_ref = image_ref_for_src(&src).ok()?;
    Some(catalog_entry::ActiveModel {
        bty_image_ref: Set(image_ref),
        src: Set(src),
        name: Set(name.to_owned()),
        sha_url: Set(None),
        format: Set(detect_format(name).map(str::to_owned)),
        description: Set(None),
        added_at: Set(clock::now_iso()),
        source_kind: Set(SourceKind::Local),
        sha_observed: Set(false),
        ..Default::default()
    })
}

/// What an upload's [`Catalog::record_hashed_file`] sets on a `local` row.
const LOCAL_FILE_COLUMNS: [catalog_entry::Column; 6] = [
    catalog_entry::Column::Format,
    catalog_entry::Column::SizeBytes,
    catalog_entry::Column::FileMtimeNs,
    catalog_entry::Column::DiskImageSha,
    catalog_entry::Column::HashedSize,
    catalog_entry::Column::HashedMtimeNs,
];

/// The file's stamp, and `sha256`, the digest computed for it as stamped
/// (or none, and then no hashed stamp either).
fn set_stamp(row: &mut catalog_entry::ActiveModel, stamp: FileStamp, sha256: Option<String>) {
    let hashed = sha256.is_some();
    row.size_bytes = Set(Some(stamp.size));
    row.file_mtime_ns = Set(Some(stamp.mtime_ns));
    row.disk_image_sha = Set(sha256);
    row.hashed_size = Set(hashed.then_some(stamp.size));
    row.hashed_mtime_ns = Set(hashed.then_some(stamp.mtime_ns));
}

/// A unified catalog and the generation it was built at.
type Built = (u64, Arc<CatalogView>);

/// The last unified catalog built.
#[derive(Clone, Default)]
struct ViewCache(Arc<Mutex<Option<Built>>>);

impl ViewCache {
    fn get(&self, generation: u64) -> Option<Arc<CatalogView>> {
        let slot = self.0.lock().ok()?;
        slot.as_ref()
            .filter(|(built_at, _)| *built_at == generation)
            .map(|(_, view)| view.clone())
    }

    fn put(&self, built_at: u64, now: u64, view: Arc<CatalogView>) {
        if built_at == now {
            if let Ok(mut slot) = self.0.lock() {
                *slot = Some((built_at, view));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{live::Live, node::Node, settings::Settings};

    const SHA: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    async fn catalog() -> (Catalog, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::for_state_dir(dir.path());
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        let node = Node::new(&settings, 0, false);
        let core = Core::new(settings, db, node, Live::default()).unwrap();
        (Catalog::new(core), dir)
    }

    /// Replicas sharing an image root record the same file: whoever comes
    /// second finds the row there, and neither fails.
    #[tokio::test]
    async fn a_file_recorded_twice_keeps_one_row_and_an_uploads_digest_wins() {
        let (catalog, _dir) = catalog().await;
        let stamp = FileStamp {
            size: 10,
            mtime_ns: 1,
        };
        for _ in 0..2 {
            let recorded = catalog.add_local_file("disk.img", stamp, None).await;
            recorded.expect("a second record of the same file is no error");
        }
        assert_eq!(catalog.local_entries().await.unwrap().len(), 1);

        catalog
            .record_hashed_file("disk.img", stamp, SHA)
            .await
            .unwrap();
        catalog
            .add_local_file("disk.img", stamp, None)
            .await
            .unwrap();
        let rows = catalog.local_entries().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].disk_image_sha.as_deref(), Some(SHA));
    }
}
