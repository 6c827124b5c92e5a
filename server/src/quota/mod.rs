//! The download cache's quota (`BTY_CACHE_MAX_BYTES`) and free-space floor
//! (`BTY_CACHE_MIN_FREE_BYTES`). Before a download writes, and again as its
//! file grows, it reserves the room its bytes will take ([`Reservation`]);
//! two downloads never count the same free bytes, also on replicas sharing
//! the cache (each reservation is on its job row, and a decision holds a
//! PostgreSQL advisory lock). To make room, cached
//! images go least recently used first, never one pinned in the cache
//! (`keep_cached`), one being read now ([`crate::cache::Readers`]), or the
//! bytes an update replaces before the new ones are verified; the image
//! root is not the cache's to touch. When no eviction is enough, nothing
//! is evicted and the download fails at once, saying how much it needs and
//! what holds the space. A use is a byte-route GET or a stream-through,
//! written to the rows at most once a minute per image.
//!
//! It holds the core, the catalog service (who holds which bytes, pins,
//! last uses) and the cache (its files and readers); the download workers
//! and the byte routes hold it.

mod events;
pub mod plan;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use app::{
    components::format::format_bytes,
    model::{JobKind, JobStatus},
};
use sea_orm::{sea_query::Expr, ColumnTrait, DbErr, EntityTrait, QueryFilter};

use self::plan::{plan, Candidate, Limits, Shortfall, Space};
use crate::{
    cache::{self, Cache, ReadKey, Scan},
    catalog::Catalog,
    db::{
        entity::{
            catalog_entry,
            job::{self, Entity as Jobs},
        },
        lock::{LockKey, SessionLock},
    },
    plumbing::Core,
};

/// A use of the same image is written at most this often.
const USE_EVERY: Duration = Duration::from_secs(60);
/// A download whose size is unknown (or passed) reserves this much more at
/// a time as it grows.
const GROW_STEP: u64 = 16 * 1024 * 1024;
/// A download checks its room again after writing this much, in case the
/// file system filled from elsewhere.
const RECHECK_EVERY: u64 = 64 * 1024 * 1024;
/// Plans tried when images keep being opened as they are about to go.
const PASSES: usize = 3;
/// Names listed per kind of holder in a refusal.
const NAMES_SHOWN: usize = 3;

/// Room could not be made: the text says how much was needed and what
/// holds the space.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoRoom(pub String);

/// The handle to the quota: cheap to clone.
#[derive(Clone)]
pub struct CacheQuota {
    core: Core,
    catalog: Catalog,
    cache: Cache,
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// One room decision at a time.
    deciding: tokio::sync::Mutex<()>,
    /// What running downloads reserved, by job.
    reserved: Mutex<HashMap<i64, Reserved>>,
    /// When each image's use was last written.
    uses: Mutex<HashMap<ReadKey, Instant>>,
}

struct Reserved {
    partial: PathBuf,
    /// The bytes its partial file will hold when complete.
    bytes: u64,
}

impl CacheQuota {
    pub fn new(core: Core, catalog: Catalog, cache: Cache) -> Self {
        CacheQuota {
            core,
            catalog,
            cache,
            inner: Arc::default(),
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.core.settings.cache_max_bytes,
            min_free_bytes: self.core.settings.cache_min_free_bytes,
        }
    }

    /// The room of the download job `job` of the entry `name`, writing
    /// `partial`; `keep` is the sha of bytes it must not evict (what an
    /// update replaces). Nothing is reserved until asked; everything is
    /// given back when it is dropped.
    pub fn reservation(
        &self,
        job: i64,
        partial: PathBuf,
        name: &str,
        keep: Option<String>,
    ) -> Reservation {
        Reservation {
            quota: self.clone(),
            job,
            partial,
            name: name.to_owned(),
            keep,
            reserved: AtomicU64::new(0),
            checked_at: AtomicU64::new(0),
        }
    }

    /// A flash client reads `used` now: the rows record it, at most once a
    /// minute per image.
    pub async fn record_use(&self, used: ReadKey) {
        {
            let Ok(mut uses) = self.inner.uses.lock() else {
                return;
            };
            if uses.get(&used).is_some_and(|at| at.elapsed() < USE_EVERY) {
                return;
            }
            if uses.len() > 4096 {
                uses.retain(|_, at| at.elapsed() < USE_EVERY);
            }
            uses.insert(used.clone(), Instant::now());
        }
        if let Err(error) = self.catalog.record_use(&used).await {
            tracing::warn!(%error, ?used, "last use not recorded");
        }
    }

    /// Makes room for the download of `ask` to hold `total` bytes in all,
    /// and reserves them.
    async fn make_room(&self, ask: &Reservation, total: u64) -> Result<(), NoRoom> {
        let limits = self.limits();
        let _deciding = self.inner.deciding.lock().await;
        // Replicas sharing the cache decide one at a time too.
        let _shared = SessionLock::acquire(&self.core.db, LockKey::CacheRoom)
            .await
            .map_err(|error| NoRoom(format!("could not lock the shared cache: {error}")))?;
        for _ in 0..PASSES {
            let scan = cache::scan_now(&self.cache.dir()).await;
            let (others, written) = self.outstanding(ask, &scan);
            let others =
                others.saturating_add(self.reserved_elsewhere(&scan).await.map_err(|error| {
                    NoRoom(format!(
                        "could not read the other replicas' reservations: {error}"
                    ))
                })?);
            let need = total.saturating_sub(written);
            let space = Space {
                used: scan.bytes.saturating_add(others),
                free: scan.free_bytes.map(|free| free.saturating_sub(others)),
            };
            if plan(limits, space, need, Vec::new()).is_ok() {
                self.hold(ask, total).await;
                return Ok(());
            }
            let shas: Vec<String> = scan.images.iter().map(|i| i.sha256.clone()).collect();
            let holders = self
                .catalog
                .remote_entries_with_shas(&shas)
                .await
                .map_err(|error| NoRoom(format!("could not read the catalog: {error}")))?;
            let sorted = self.sort(&scan, &holders, ask.keep.as_deref());
            let evictions = match plan(limits, space, need, sorted.candidates) {
                Ok(evictions) => evictions,
                Err(shortfall) => {
                    let held = sorted.held.describe(&shortfall, &scan, others);
                    return Err(NoRoom(format!(
                        "not enough room in the download cache for '{}': {}; {held}",
                        ask.name,
                        shortfall.describe()
                    )));
                }
            };
            let mut evicted_all = true;
            let mut evicted_any = false;
            for (candidate, reason) in evictions {
                let names = names_of(&holders, &candidate.sha256);
                let readers = read_keys(&holders, &candidate.sha256);
                match self.cache.remove_unread(&candidate.sha256, readers).await {
                    Ok(Some(freed)) => {
                        evicted_any = true;
                        self.core.metrics.count_eviction(reason.as_str(), freed);
                        events::evicted(
                            &self.core,
                            &names,
                            &candidate.sha256,
                            reason,
                            freed,
                            &ask.name,
                        )
                        .await;
                    }
                    // A client opened it meanwhile: plan again without it.
                    Ok(None) => {
                        evicted_all = false;
                        break;
                    }
                    Err(error) => {
                        return Err(NoRoom(format!(
                            "could not evict {} to make room: {error}",
                            candidate.sha256
                        )))
                    }
                }
            }
            if evicted_any {
                self.cache.changed().await;
            }
            if evicted_all {
                self.hold(ask, total).await;
                return Ok(());
            }
        }
        Err(NoRoom(format!(
            "not enough room in the download cache for '{}': the images that could go \
             kept being read; try again",
            ask.name
        )))
    }

    /// What other downloads will still write, and what `ask` has written.
    fn outstanding(&self, ask: &Reservation, scan: &Scan) -> (u64, u64) {
        let written = |path: &Path| scan.partials.get(path).copied().unwrap_or(0);
        let others = self.inner.reserved.lock().map_or(0, |reserved| {
            reserved
                .iter()
                .filter(|(job, _)| **job != ask.job)
                .map(|(_, r)| r.bytes.saturating_sub(written(&r.partial)))
                .sum()
        });
        (others, written(&ask.partial))
    }

    /// What downloads other replicas run will still write into the shared
    /// cache (nothing when it is this replica's alone).
    async fn reserved_elsewhere(&self, scan: &Scan) -> Result<u64, DbErr> {
        if !self.core.node.shared {
            return Ok(0);
        }
        let rows = Jobs::find()
            .filter(job::Column::Kind.eq(JobKind::Download))
            .filter(job::Column::Status.eq(JobStatus::Running))
            .filter(job::Column::ClaimedBy.ne(self.core.node.id()))
            .filter(job::Column::ReservedBytes.is_not_null())
            .all(&self.core.db)
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let reserved = u64::try_from(row.reserved_bytes.unwrap_or_default()).unwrap_or(0);
                let written = row
                    .path
                    .as_ref()
                    .and_then(|path| scan.partials.get(Path::new(path)))
                    .copied()
                    .unwrap_or(0);
                reserved.saturating_sub(written)
            })
            .sum())
    }

    async fn hold(&self, ask: &Reservation, total: u64) {
        ask.reserved.store(total, Ordering::SeqCst);
        if let Ok(mut reserved) = self.inner.reserved.lock() {
            reserved.insert(
                ask.job,
                Reserved {
                    partial: ask.partial.clone(),
                    bytes: total,
                },
            );
        }
        if self.core.node.shared {
            // For the other replicas' decisions; their lock is still ours.
            let bytes = i64::try_from(total).unwrap_or(i64::MAX);
            let recorded = Jobs::update_many()
                .col_expr(job::Column::ReservedBytes, Expr::value(bytes))
                .filter(job::Column::Id.eq(ask.job))
                .exec(&self.core.db)
                .await;
            if let Err(error) = recorded {
                tracing::warn!(%error, job = ask.job, "a reservation was not shared");
            }
        }
    }

    fn release(&self, job: i64) {
        if let Ok(mut reserved) = self.inner.reserved.lock() {
            reserved.remove(&job);
        }
    }

    /// The cached images that may go, with their last use, and what holds
    /// the others.
    fn sort(&self, scan: &Scan, holders: &[catalog_entry::Model], keep: Option<&str>) -> Sorted {
        let readers = self.cache.readers();
        let mut sorted = Sorted::default();
        for image in &scan.images {
            let sha = image.sha256.as_str();
            let rows: Vec<&catalog_entry::Model> = holders
                .iter()
                .filter(|row| row.disk_image_sha.as_deref() == Some(sha))
                .collect();
            let label = rows.first().map_or_else(
                || format!("sha256:{}", sha.get(..12).unwrap_or(sha)),
                |row| row.name.clone(),
            );
            let held = (label, image.bytes);
            if rows.iter().any(|row| row.keep_cached) {
                sorted.held.pinned.push(held);
            } else if read_keys(holders, sha)
                .iter()
                .any(|key| readers.is_read(key))
            {
                sorted.held.read.push(held);
            } else if keep == Some(sha) {
                sorted.held.updating.push(held);
            } else {
                let last_used_us = rows
                    .iter()
                    .filter_map(|row| row.last_used_at.as_deref())
                    .filter_map(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                    .map(|at| at.timestamp_micros())
                    .fold(image.written_us, i64::max);
                sorted.candidates.push(Candidate {
                    sha256: image.sha256.clone(),
                    bytes: image.bytes,
                    last_used_us,
                });
            }
        }
        sorted
    }
}

/// The names of the entries with this content.
fn names_of(holders: &[catalog_entry::Model], sha256: &str) -> Vec<String> {
    holders
        .iter()
        .filter(|row| row.disk_image_sha.as_deref() == Some(sha256))
        .map(|row| row.name.clone())
        .collect()
}

/// Whoever reading would hold this content: the image itself, or an
/// entry with it streamed through.
fn read_keys(holders: &[catalog_entry::Model], sha256: &str) -> Vec<ReadKey> {
    std::iter::once(ReadKey::Content(sha256.to_owned()))
        .chain(
            holders
                .iter()
                .filter(|row| row.disk_image_sha.as_deref() == Some(sha256))
                .map(|row| ReadKey::Source(row.src.clone())),
        )
        .collect()
}

#[derive(Default)]
struct Sorted {
    candidates: Vec<Candidate>,
    held: Held,
}

/// Cached images that may not go, by why: (name, bytes).
#[derive(Default)]
struct Held {
    pinned: Vec<(String, u64)>,
    read: Vec<(String, u64)>,
    updating: Vec<(String, u64)>,
}

impl Held {
    /// "the space is held by …", for a refusal.
    fn describe(&self, shortfall: &Shortfall, scan: &Scan, others: u64) -> String {
        let mut parts = Vec::new();
        for (what, images) in [
            ("pinned in the cache", &self.pinned),
            ("being read now", &self.read),
            ("kept until their update is verified", &self.updating),
        ] {
            if images.is_empty() {
                continue;
            }
            let bytes: u64 = images.iter().map(|(_, bytes)| bytes).sum();
            let mut names: Vec<&str> = images.iter().map(|(name, _)| name.as_str()).collect();
            if names.len() > NAMES_SHOWN {
                names.truncate(NAMES_SHOWN);
                names.push("…");
            }
            let count = match images.len() {
                1 => "1 image".to_owned(),
                n => format!("{n} images"),
            };
            parts.push(format!(
                "{count} {what} ({}: {})",
                format_bytes(bytes),
                names.join(", ")
            ));
        }
        let downloading = scan.partials.values().sum::<u64>() + others;
        if downloading > 0 {
            parts.push(format!(
                "downloads under way ({})",
                format_bytes(downloading)
            ));
        }
        if let (Shortfall::FreeSpace { .. }, Some(total), Some(free)) =
            (shortfall, scan.total_bytes, scan.free_bytes)
        {
            let outside = total.saturating_sub(free).saturating_sub(scan.bytes);
            parts.push(format!(
                "files outside the cache ({}, the image root's among them)",
                format_bytes(outside)
            ));
        }
        if let Shortfall::Quota { need, max, .. } = shortfall {
            if need > max {
                return "the image alone is larger than the quota".to_owned();
            }
        }
        if parts.is_empty() {
            return "nothing else in the cache may go".to_owned();
        }
        format!("the space is held by {}", parts.join(", "))
    }
}

/// The room one download reserved; given back when dropped.
pub struct Reservation {
    quota: CacheQuota,
    job: i64,
    partial: PathBuf,
    name: String,
    keep: Option<String>,
    /// The bytes reserved, in all.
    reserved: AtomicU64,
    /// The bytes written when the room was last checked.
    checked_at: AtomicU64,
}

impl Reservation {
    /// Before any byte is written: room for `total` bytes in all (0 when
    /// the size is not known yet), checked even when nothing is reserved
    /// yet, so a cache already over its limits makes room first or refuses.
    pub async fn begin(&self, total: u64) -> Result<(), NoRoom> {
        self.quota.make_room(self, total).await
    }

    /// Room for `total` bytes in all, once the size is known.
    pub async fn ensure(&self, total: u64) -> Result<(), NoRoom> {
        if total <= self.reserved.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.quota.make_room(self, total).await
    }

    /// The partial file holds `written` bytes: past what is reserved, more
    /// is reserved; every [`RECHECK_EVERY`] the room is checked again.
    pub async fn grown(&self, written: u64) -> Result<(), NoRoom> {
        let reserved = self.reserved.load(Ordering::SeqCst);
        let checked_at = self.checked_at.load(Ordering::SeqCst);
        if written > reserved {
            self.checked_at.store(written, Ordering::SeqCst);
            if self
                .quota
                .make_room(self, written.saturating_add(GROW_STEP))
                .await
                .is_ok()
            {
                return Ok(());
            }
            return self.quota.make_room(self, written).await;
        }
        if written >= checked_at.saturating_add(RECHECK_EVERY) {
            self.checked_at.store(written, Ordering::SeqCst);
            return self.quota.make_room(self, reserved).await;
        }
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.quota.release(self.job);
    }
}
