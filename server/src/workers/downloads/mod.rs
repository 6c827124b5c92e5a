//! The download workers (reference section 4.2, with the D3, D5, D6, D8,
//! D9 and D21 fixes): `BTY_CATALOG_MAX_PARALLEL` tasks take queued download
//! jobs (rows, which survive a restart), fetch the entry's bytes into its
//! partial file in the cache, verify them, rename them to `cache/<sha256>`
//! and log the outcome. Jobs act on catalog rows, keyed by their source.

mod complete;
mod events;
pub mod fill;
mod progress;
mod source;
mod transfer;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use app::model::{DownloadState, JobKind, JobStatus};
use sea_orm::DbErr;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

pub use self::transfer::downloaded_bytes_total;
use self::{
    complete::Done,
    events::Subject,
    fill::{Fill, Fills, Finished},
    progress::Progress,
    source::{is_pinned, Lookup},
    transfer::Stopped,
};
use super::jobs::{self, Outcome};
use crate::{
    audit::Actor,
    cache,
    catalog::names,
    db::entity::{catalog_entry, job},
    state::AppState,
};

/// A safety net: workers look for queued jobs this often even unwoken.
const IDLE_RECHECK: Duration = Duration::from_secs(30);

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
    wake: Notify,
    /// Serializes "is there already a job for this entry?" decisions.
    enqueue: tokio::sync::Mutex<()>,
    running: Mutex<HashMap<i64, Running>>,
    fills: Fills,
}

struct Running {
    token: CancellationToken,
    cancelled_by: Option<Actor>,
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
        self.inner.wake.notify_one();
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
        jobs::create_download(
            &state.db,
            &entry.name,
            &entry.src,
            &partial.display().to_string(),
            mode,
            size,
        )
        .await
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
                if let Ok(mut running) = self.inner.running.lock() {
                    if let Some(entry) = running.get_mut(&latest.id) {
                        entry.cancelled_by = Some(by);
                        entry.token.cancel();
                    }
                }
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

    async fn work(self, state: AppState) {
        loop {
            if state.shutdown.is_cancelled() {
                return;
            }
            match jobs::claim_next(&state.db, JobKind::Download).await {
                Ok(Some(job)) => self.run(&state, job).await,
                Ok(None) => {
                    tokio::select! {
                        _ = state.shutdown.cancelled() => return,
                        _ = self.inner.wake.notified() => {}
                        _ = tokio::time::sleep(IDLE_RECHECK) => {}
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "download worker could not claim a job");
                    tokio::select! {
                        _ = state.shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    async fn run(&self, state: &AppState, job: job::Model) {
        let token = state.shutdown.child_token();
        if let Ok(mut running) = self.inner.running.lock() {
            running.insert(
                job.id,
                Running {
                    token: token.clone(),
                    cancelled_by: None,
                },
            );
        }
        let subject = job_subject(&job);
        let fill = self.inner.fills.sender(&subject.src);
        events::started(state, &subject).await;
        let result = download(state, &job, &token, &subject, fill).await;
        let ended = match &result {
            Ok(_) => Finished::Completed,
            Err(Stopped::Cancelled) => Finished::Failed("the download was cancelled".into()),
            Err(Stopped::Failed(error)) => Finished::Failed(error.clone()),
        };
        let cancelled_by = self
            .inner
            .running
            .lock()
            .ok()
            .and_then(|mut running| running.remove(&job.id))
            .and_then(|entry| entry.cancelled_by);
        if state.shutdown.is_cancelled() {
            // Left `running` with its partial file: the next start resumes it.
            let stopping = Finished::Failed("the server is stopping".into());
            self.inner.fills.end(&subject.src, stopping);
            return;
        }
        let update = job.mode == MODE_UPDATE;
        let outcome = match &result {
            Ok(done) => Outcome::Completed {
                sha256: done.sha256.clone(),
                bytes: done.bytes,
            },
            Err(Stopped::Cancelled) => Outcome::Cancelled(None),
            Err(Stopped::Failed(error)) => Outcome::Failed(error.clone()),
        };
        if result.is_err() {
            remove_partial(&job).await;
        }
        match jobs::finish(&state.db, job.id, &outcome).await {
            Ok(Some(row)) => state.live.job(&jobs::to_wire(&row)),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, job = job.id, "download outcome not recorded");
            }
        }
        // After the row: a reader that joins now sees the job ended.
        self.inner.fills.end(&subject.src, ended);
        match result {
            Ok(done) => {
                let previous = update.then_some(done.previous.as_deref());
                events::completed(state, &subject, &done.sha256, done.bytes, previous).await;
                if let (true, Some(old)) = (update, &done.previous) {
                    if *old != done.sha256 {
                        if let Err(error) = complete::drop_replaced(state, old).await {
                            tracing::warn!(%error, "replaced content not removed");
                        }
                    }
                }
                cache::changed(state).await;
            }
            Err(Stopped::Cancelled) => {
                let by = cancelled_by.unwrap_or_else(Actor::system);
                events::cancelled(state, &by, &subject).await;
            }
            Err(Stopped::Failed(error)) => events::failed(state, &subject, &error).await,
        }
    }
}

/// Fetches the job's entry unless its bytes are already cached.
async fn download(
    state: &AppState,
    job: &job::Model,
    token: &CancellationToken,
    subject: &Subject,
    fill: watch::Sender<Fill>,
) -> Result<Done, Stopped> {
    let src = job.src.clone().unwrap_or_default();
    let entry = source::entry_by_src(&state.db, &src)
        .await
        .map_err(|error| Stopped::Failed(error.to_string()))?
        .ok_or_else(|| Stopped::Failed(format!("catalog entry {src} vanished")))?;
    let update = job.mode == MODE_UPDATE;
    let dir = state.settings.cache_dir();
    let cached = |sha: &str| cache::is_cached(&dir, sha);
    let already = |sha: &String| Done {
        sha256: sha.clone(),
        bytes: std::fs::metadata(cache::cached_path(&dir, sha))
            .map(|m| m.len())
            .unwrap_or_default(),
        previous: Some(sha.clone()),
    };
    if let Some(sha) = entry.disk_image_sha.as_ref().filter(|sha| cached(sha)) {
        if !update {
            return Ok(already(sha));
        }
    }
    let target = source::target(state, &entry)
        .await
        .map_err(Stopped::Failed)?;
    // A rolling tag that still names the cached content needs no transfer.
    if let (Some(expected), Some(old)) = (&target.expected, &entry.disk_image_sha) {
        if expected == old && cached(old) {
            return Ok(already(old));
        }
    }
    let partial = job
        .path
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| cache::partial_path(&dir, &entry.bty_image_ref));
    let progress = Progress::new(state, job.id, job.validator.clone(), fill);
    let staged = transfer::fetch(state, &target, &partial, &progress, token).await?;
    complete::commit(state, &entry, &target, staged, subject)
        .await
        .map_err(Stopped::Failed)
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
