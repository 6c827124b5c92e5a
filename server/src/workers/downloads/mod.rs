//! The download workers (reference section 4.2, with the D3, D5, D6, D8,
//! D9 and D21 fixes): `BTY_CATALOG_MAX_PARALLEL` tasks take queued download
//! jobs (rows, which survive a restart), fetch the entry's bytes into its
//! partial file in the cache, verify them, rename them to `cache/<sha256>`
//! and log the outcome. Jobs act on catalog rows, keyed by their source.

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
    fill::{Fill, Fills},
    source::{is_pinned, Lookup},
};
use super::{
    jobs::{self, Outcome},
    pool::JobPool,
};
use crate::{
    audit::Actor,
    cache,
    catalog::names,
    db::entity::{catalog_entry, job},
    state::AppState,
};

/// The two kinds of download job.
pub const MODE_FETCH: &str = "fetch";
pub const MODE_UPDATE: &str = "update";

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
#[derive(Clone, Default)]
pub struct DownloadWorkers {
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
    /// Starts the worker tasks on the state's task tracker.
    pub fn start(&self, state: &AppState) {
        for _ in 0..state.settings.catalog_max_parallel {
            let (state, workers) = (state.clone(), self.clone());
            state
                .tasks
                .clone()
                .spawn(async move { workers.work(state).await });
        }
    }

    /// Queues a download (or, with `update`, a re-download of a rolling
    /// entry) of the remote entry `key` names (a name or a ref). An active
    /// job is returned as it is; so is a completed one while its bytes are
    /// still cached (D3); an entry already cached completes at once.
    pub async fn enqueue(
        &self,
        state: &AppState,
        key: &str,
        update: bool,
        actor: &Actor,
    ) -> Result<job::Model, DownloadError> {
        names::check_name(key)?;
        let entry = match source::find_entry(&state.db, key).await? {
            Lookup::Remote(entry) => *entry,
            Lookup::LocalOnly => return Err(DownloadError::LocalOnly(key.to_owned())),
            Lookup::Missing => return Err(DownloadError::NoEntry(key.to_owned())),
        };
        if update && is_pinned(&entry) {
            return Err(DownloadError::Pinned {
                name: entry.name.clone(),
                sha256: entry.disk_image_sha.clone().unwrap_or_default(),
            });
        }
        let _guard = self.inner.enqueue.lock().await;
        let latest = jobs::latest_download(&state.db, &entry.src).await?;
        if let Some(latest) = &latest {
            if JobStatus::parse(&latest.status).is_some_and(JobStatus::is_active) {
                return Ok(latest.clone());
            }
        }
        let dir = state.settings.cache_dir();
        let cached = entry
            .disk_image_sha
            .clone()
            .filter(|sha| cache::is_cached(&dir, sha));
        let subject = subject_of(&entry);
        if let (false, Some(sha)) = (update, cached) {
            if let Some(latest) = latest.filter(|l| {
                l.status == JobStatus::Completed.as_str() && l.sha256.as_ref() == Some(&sha)
            }) {
                return Ok(latest);
            }
            let bytes = std::fs::metadata(cache::cached_path(&dir, &sha))
                .map(|m| m.len())
                .unwrap_or_default();
            let created = self.create(state, &entry, false, Some(bytes)).await?;
            events::requested(state, actor, &subject, false).await;
            let outcome = Outcome::Completed {
                sha256: sha.clone(),
                bytes,
            };
            let row = jobs::finish(&state.db, created.id, &outcome)
                .await?
                .unwrap_or(created);
            events::completed(state, &subject, &sha, bytes, None).await;
            state.live.job(&jobs::to_wire(&row));
            return Ok(row);
        }
        let size = entry.size_bytes.and_then(|s| u64::try_from(s).ok());
        let row = self.create(state, &entry, update, size).await?;
        events::requested(state, actor, &subject, update).await;
        state.live.job(&jobs::to_wire(&row));
        self.inner.pool.wake();
        Ok(row)
    }

    async fn create(
        &self,
        state: &AppState,
        entry: &catalog_entry::Model,
        update: bool,
        size: Option<u64>,
    ) -> Result<job::Model, DbErr> {
        let partial = cache::partial_path(&state.settings.cache_dir(), &entry.bty_image_ref);
        let mode = if update { MODE_UPDATE } else { MODE_FETCH };
        // The bytes a failed download left resume under its validator.
        let carried = match jobs::latest_download(&state.db, &entry.src).await? {
            Some(previous) if partial.is_file() => previous.validator,
            _ => None,
        };
        let created = jobs::create_download(
            &state.db,
            &entry.name,
            &entry.src,
            &partial.display().to_string(),
            mode,
            size,
        )
        .await?;
        if carried.is_none() {
            return Ok(created);
        }
        jobs::set_validator(&state.db, created.id, carried.as_deref()).await?;
        Ok(jobs::get(&state.db, created.id).await?.unwrap_or(created))
    }

    /// Cancels the newest download of the entry `key` names: a queued one
    /// at once, a running one within a chunk (the answer still reads
    /// `running`, as the reference's). A finished one is returned as is.
    /// An explicit cancel removes the partial file.
    pub async fn cancel(
        &self,
        state: &AppState,
        key: &str,
        by: Actor,
    ) -> Result<job::Model, DownloadError> {
        names::check_name(key)?;
        let latest = match source::find_entry(&state.db, key).await? {
            Lookup::Remote(entry) => jobs::latest_download(&state.db, &entry.src).await?,
            _ => None,
        };
        let latest = match latest {
            Some(latest) => latest,
            None => jobs::latest_for(&state.db, JobKind::Download, key)
                .await?
                .ok_or_else(|| DownloadError::NoJob(key.to_owned()))?,
        };
        match JobStatus::parse(&latest.status) {
            Some(JobStatus::Queued) => {
                let _guard = self.inner.enqueue.lock().await;
                let row = jobs::finish(&state.db, latest.id, &Outcome::Cancelled(None))
                    .await?
                    .unwrap_or(latest);
                state.live.job(&jobs::to_wire(&row));
                if row.status == JobStatus::Cancelled.as_str() {
                    remove_partial(&row).await;
                    events::cancelled(state, &by, &job_subject(&row)).await;
                }
                Ok(row)
            }
            Some(JobStatus::Running) => {
                self.inner.pool.cancel(latest.id, by);
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
        state: &AppState,
        entry: &catalog_entry::Model,
    ) -> Result<Option<(watch::Receiver<Fill>, PathBuf)>, DownloadError> {
        let _guard = self.inner.enqueue.lock().await;
        let dir = state.settings.cache_dir();
        let Some(entry) = source::entry_by_src(&state.db, &entry.src).await? else {
            return Err(DownloadError::NoEntry(entry.name.clone()));
        };
        if entry
            .disk_image_sha
            .as_ref()
            .is_some_and(|sha| cache::is_cached(&dir, sha))
        {
            return Ok(None);
        }
        let receiver = self.inner.fills.sender(&entry.src).subscribe();
        let latest = jobs::latest_download(&state.db, &entry.src)
            .await?
            .filter(|row| JobStatus::parse(&row.status).is_some_and(JobStatus::is_active));
        let job = match latest {
            Some(row) => row,
            None => {
                let size = entry.size_bytes.and_then(|s| u64::try_from(s).ok());
                let row = self.create(state, &entry, false, size).await?;
                let subject = subject_of(&entry);
                events::requested(state, &Actor::system(), &subject, false).await;
                state.live.job(&jobs::to_wire(&row));
                row
            }
        };
        let partial = job
            .path
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(|| cache::partial_path(&dir, &entry.bty_image_ref));
        if job.status == JobStatus::Queued.as_str() {
            // Claimed here unless a worker just took it: either way it runs.
            if let Some(claimed) = jobs::claim(&state.db, job.id).await? {
                let (workers, task_state) = (self.clone(), state.clone());
                state.tasks.spawn(async move {
                    workers.run(&task_state, claimed).await;
                });
            }
        }
        Ok(Some((receiver, partial)))
    }
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
