//! The download workers (reference §4.2, with the D3, D5, D6, D8,
//! D9 and D21 fixes): `BTY_CATALOG_MAX_PARALLEL` tasks take queued download
//! jobs (rows, which survive a restart), fetch the entry's bytes into its
//! partial file in the cache, verify them, rename them to `cache/<sha256>`
//! and log the outcome. Jobs act on catalog rows, keyed by their source;
//! the workers hold the core, the catalog service, the cache and the hash
//! workers' handle, which inspects every download (and stream-through
//! fill) once it is in the cache.

mod complete;
mod events;
pub mod fill;
mod progress;
mod runner;
mod source;
mod transfer;

use std::{path::PathBuf, sync::Arc};

use app::model::{DownloadState, JobKind, JobStatus};
use sea_orm::DbErr;
use tokio::sync::watch;

use self::{
    events::Subject,
    fill::{Fill, Fills, Finished},
    source::is_pinned,
};
use super::{
    hashes::HashWorkers,
    jobs::{self, Outcome},
    leases,
    pool::JobPool,
};
use crate::{
    audit::Actor,
    cache::Cache,
    catalog::{lookup::DownloadSource, names, Catalog},
    db::entity::{
        catalog_entry,
        job::{self, DownloadMode},
    },
    plumbing::Core,
    quota::CacheQuota,
};

/// Why a download could not be queued or cancelled.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{0}")]
    BadName(#[from] names::NameError),
    /// The reference's text, quotes included (`str(KeyError)`).
    #[error("\"no catalog entry named '{0}'\"")]
    NoEntry(String),
    #[error("'{0}' is a file in the image root: its bytes are already held there")]
    LocalOnly(String),
    #[error(
        "'{name}' is pinned to sha256 {sha256}: only entries without a pinned sha can be updated"
    )]
    Pinned { name: String, sha256: String },
    #[error("no active download named '{0}'")]
    NoJob(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The handle to the download workers: cheap to clone.
#[derive(Clone)]
pub struct DownloadWorkers {
    core: Core,
    catalog: Catalog,
    cache: Cache,
    /// Makes room in the cache before and while a download writes.
    quota: CacheQuota,
    /// Inspects what a download brought.
    hashes: HashWorkers,
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    pool: JobPool,
    /// Serializes "is there already a job for this entry?" decisions.
    enqueue: tokio::sync::Mutex<()>,
    fills: Fills,
}

impl DownloadWorkers {
    pub fn new(
        core: Core,
        catalog: Catalog,
        cache: Cache,
        quota: CacheQuota,
        hashes: HashWorkers,
    ) -> Self {
        DownloadWorkers {
            core,
            catalog,
            cache,
            quota,
            hashes,
            inner: Arc::default(),
        }
    }

    /// Starts the worker tasks, and their leases' heartbeat, on the core's
    /// task tracker.
    pub fn start(&self) {
        let count = self.core.settings.catalog_max_parallel;
        super::pool::spawn_workers(&self.core, count, self, Self::work);
        let workers = self.clone();
        self.core.tasks.spawn(async move {
            workers.inner.pool.keep_leases(&workers.core).await;
        });
    }

    /// Wakes a worker: a download was queued (on another replica).
    pub fn wake(&self) {
        self.inner.pool.wake();
    }

    /// A download another replica runs changed: readers here that follow
    /// it (a stream-through tailing the partial file in the shared cache)
    /// see its progress, a start over, and its end.
    pub fn relay_fill(&self, row: &job::Model) {
        let Some(src) = row.src.as_deref() else {
            return;
        };
        if row.claimed_by.as_deref() == Some(self.core.node.id()) {
            // Run here: the runner feeds its readers itself.
            return;
        }
        let fills = &self.inner.fills;
        let written = u64::try_from(row.bytes_done).unwrap_or_default();
        let total = row.bytes_total.and_then(|total| u64::try_from(total).ok());
        let progress = |fill: &mut Fill| {
            if written < fill.written {
                fill.generation += 1;
            }
            // Bytes on record: the partial file exists (a total alone may
            // be the catalog's, known before the upstream answered).
            fill.responded |= written > 0;
            fill.written = written;
            fill.total = total.or(fill.total);
        };
        match row.status {
            JobStatus::Running => {
                if let Some(sender) = fills.followed(src) {
                    sender.send_modify(progress);
                }
            }
            JobStatus::Completed => {
                if let Some(sender) = fills.followed(src) {
                    sender.send_modify(progress);
                    fills.end(src, Finished::Completed);
                }
            }
            JobStatus::Failed | JobStatus::Cancelled => {
                let why = row
                    .error
                    .clone()
                    .unwrap_or_else(|| format!("the download was {}", row.status.as_str()));
                fills.end(src, Finished::Failed(why));
            }
            JobStatus::Queued => {}
        }
    }

    /// Stops the download job `id` if it runs here, on behalf of `by` (who
    /// asked on another replica); false when it does not.
    pub fn stop_here(&self, id: i64, by: Actor) -> bool {
        self.inner.pool.cancel(id, by)
    }

    /// Queues a download (or, with `update`, a re-download of a rolling
    /// entry) of the remote entry `key` names (a name or a ref). An active
    /// job is returned as it is; so is a completed one while its bytes are
    /// still cached (D3); an entry already cached completes at once.
    pub async fn enqueue(
        &self,
        key: &str,
        update: bool,
        actor: &Actor,
    ) -> Result<job::Model, DownloadError> {
        let core = &self.core;
        names::check_name(key)?;
        let entry = match self.catalog.lookup(key).download_source().await? {
            DownloadSource::Remote(entry) => *entry,
            DownloadSource::LocalOnly => return Err(DownloadError::LocalOnly(key.to_owned())),
            DownloadSource::Missing => return Err(DownloadError::NoEntry(key.to_owned())),
        };
        if update && is_pinned(&entry) {
            return Err(DownloadError::Pinned {
                name: entry.name.clone(),
                sha256: entry.disk_image_sha.clone().unwrap_or_default(),
            });
        }
        let _guard = self.inner.enqueue.lock().await;
        let latest = jobs::latest_download(&core.db, &entry.src).await?;
        if let Some(latest) = &latest {
            if latest.status.is_active() {
                return Ok(latest.clone());
            }
        }
        let cached = entry
            .disk_image_sha
            .clone()
            .filter(|sha| self.cache.holds(sha));
        let subject = subject_of(&entry);
        if let (false, Some(sha)) = (update, cached) {
            if let Some(latest) = latest
                .filter(|l| l.status == JobStatus::Completed && l.sha256.as_ref() == Some(&sha))
            {
                return Ok(latest);
            }
            let bytes = self.cache.size_of(&sha);
            let created = match self.create(&entry, false, Some(bytes)).await? {
                Queued::New(row) => row,
                Queued::Active(row) => return Ok(row),
            };
            events::requested(core, actor, &subject, false).await;
            let outcome = Outcome::Completed {
                sha256: sha.clone(),
                bytes,
            };
            let row = jobs::finish(&core.db, &core.node, created.id, &outcome)
                .await?
                .unwrap_or(created);
            events::completed(core, &subject, &sha, bytes, None).await;
            core.live.relay_job(&jobs::to_wire(&row));
            return Ok(row);
        }
        let size = entry.size_bytes.and_then(|s| u64::try_from(s).ok());
        let row = match self.create(&entry, update, size).await? {
            Queued::New(row) => row,
            Queued::Active(row) => return Ok(row),
        };
        events::requested(core, actor, &subject, update).await;
        core.live.job(&jobs::to_wire(&row));
        self.inner.pool.wake();
        Ok(row)
    }

    /// Queues a download of `entry`; or, when another replica queued one
    /// a moment ago (the database holds one active download per entry),
    /// that one.
    async fn create(
        &self,
        entry: &catalog_entry::Model,
        update: bool,
        size: Option<u64>,
    ) -> Result<Queued, DbErr> {
        let db = &self.core.db;
        let partial = self.cache.partial_path(&entry.bty_image_ref);
        let mode = if update {
            DownloadMode::Update
        } else {
            DownloadMode::Fetch
        };
        // The bytes a failed download left resume under its validator.
        let carried = match jobs::latest_download(db, &entry.src).await? {
            Some(previous) if partial.is_file() => previous.validator,
            _ => None,
        };
        let created = jobs::create_download(
            db,
            &entry.name,
            &entry.src,
            &partial.display().to_string(),
            mode,
            size,
            carried,
        )
        .await;
        match created {
            Ok(row) => Ok(Queued::New(row)),
            Err(error) if jobs::is_duplicate(&error) => {
                match jobs::latest_download(db, &entry.src).await? {
                    Some(active) if active.status.is_active() => Ok(Queued::Active(active)),
                    _ => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Cancels the newest download of the entry `key` names: a queued one
    /// at once, a running one within a chunk (the answer still reads
    /// `running`, as the reference's). A finished one is returned as is.
    /// An explicit cancel removes the partial file.
    pub async fn cancel(&self, key: &str, by: Actor) -> Result<job::Model, DownloadError> {
        let core = &self.core;
        names::check_name(key)?;
        let latest = match self.catalog.lookup(key).download_source().await? {
            DownloadSource::Remote(entry) => jobs::latest_download(&core.db, &entry.src).await?,
            _ => None,
        };
        let latest = match latest {
            Some(latest) => latest,
            None => jobs::latest_for(&core.db, JobKind::Download, key)
                .await?
                .ok_or_else(|| DownloadError::NoJob(key.to_owned()))?,
        };
        match latest.status {
            JobStatus::Queued => {
                let _guard = self.inner.enqueue.lock().await;
                let row = jobs::finish(&core.db, &core.node, latest.id, &Outcome::Cancelled(None))
                    .await?
                    .unwrap_or(latest);
                core.live.relay_job(&jobs::to_wire(&row));
                if row.status == JobStatus::Cancelled {
                    remove_partial(&row).await;
                    events::cancelled(core, &by, &job_subject(&row)).await;
                }
                Ok(row)
            }
            JobStatus::Running => {
                self.inner.pool.cancel_anywhere(core, latest.id, by).await?;
                Ok(latest)
            }
            _ => Ok(latest),
        }
    }

    /// Follows the fill of the remote entry `entry` for a stream-through
    /// reader: joins the running download, or starts the entry's queued
    /// (or a new) one at once, beside the workers and their limit. `None`
    /// when the bytes are already cached.
    pub async fn follow(
        &self,
        entry: &catalog_entry::Model,
    ) -> Result<Option<(watch::Receiver<Fill>, PathBuf)>, DownloadError> {
        let core = &self.core;
        let _guard = self.inner.enqueue.lock().await;
        let Some(entry) = self.catalog.entry_by_src(&entry.src).await? else {
            return Err(DownloadError::NoEntry(entry.name.clone()));
        };
        if entry
            .disk_image_sha
            .as_ref()
            .is_some_and(|sha| self.cache.holds(sha))
        {
            return Ok(None);
        }
        let receiver = self.inner.fills.sender(&entry.src).subscribe();
        let latest = jobs::latest_download(&core.db, &entry.src)
            .await?
            .filter(|row| row.status.is_active());
        let job = match latest {
            Some(row) => row,
            None => {
                let size = entry.size_bytes.and_then(|s| u64::try_from(s).ok());
                match self.create(&entry, false, size).await? {
                    Queued::New(row) => {
                        let subject = subject_of(&entry);
                        events::requested(core, &Actor::system(), &subject, false).await;
                        core.live.job(&jobs::to_wire(&row));
                        row
                    }
                    Queued::Active(row) => row,
                }
            }
        };
        let partial = job
            .path
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(|| self.cache.partial_path(&entry.bty_image_ref));
        if job.status == JobStatus::Queued {
            // Claimed here unless a worker just took it: either way it runs.
            if let Some(claimed) = leases::claim(&core.db, &core.node, job.id).await? {
                let workers = self.clone();
                core.tasks.spawn(async move {
                    workers.run(claimed).await;
                });
            }
        }
        Ok(Some((receiver, partial)))
    }
}

/// A download queued by [`DownloadWorkers::create`].
enum Queued {
    New(job::Model),
    /// The entry's active download, which another replica queued.
    Active(job::Model),
}

/// The wire `DownloadState` of a job row.
pub fn to_state(row: &job::Model) -> DownloadState {
    let job = jobs::to_wire(row);
    DownloadState {
        name: job.name,
        sha256: job.sha256,
        src: row.src.clone(),
        status: job.status,
        bytes_downloaded: job.bytes_done,
        bytes_total: job.bytes_total,
        started_at: job.started_at,
        finished_at: job.finished_at,
        error: job.error,
        attempt: job.attempt,
    }
}

/// The partial files downloads that will run again may resume.
pub async fn resumable_partials(
    db: &sea_orm::DatabaseConnection,
) -> Result<std::collections::HashSet<PathBuf>, DbErr> {
    Ok(jobs::active_downloads(db)
        .await?
        .into_iter()
        .filter_map(|row| row.path.map(PathBuf::from))
        .collect())
}

fn subject_of(entry: &catalog_entry::Model) -> Subject {
    Subject {
        name: entry.name.clone(),
        src: entry.src.clone(),
        image_ref: entry.bty_image_ref.clone(),
    }
}

fn job_subject(job: &job::Model) -> Subject {
    let src = job.src.clone().unwrap_or_default();
    Subject {
        name: job.name.clone(),
        image_ref: crate::catalog::identity::image_ref_for_src(&src).unwrap_or_default(),
        src,
    }
}

async fn remove_partial(job: &job::Model) {
    if let Some(path) = job.path.clone() {
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
    }
}
