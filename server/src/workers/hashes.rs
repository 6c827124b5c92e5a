//! The hash workers: `BTY_HASH_MAX_PARALLEL` tasks that take queued hash
//! jobs, stream the file through SHA-256 on a blocking thread, then write
//! the sidecar, record the digest on the catalog row and log the outcome.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use app::model::{Job, JobKind, JobStatus};
use sea_orm::{sea_query::Expr, ColumnTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{
    jobs::{self, Outcome},
    pool::JobPool,
    sha256_file::{self, Digested},
};
use crate::{
    audit::{self, Actor, NewEvent},
    catalog::{format::detect_format, identity::local_src, names, sidecar},
    clock,
    db::entity::{catalog_entry, job},
    state::AppState,
};

/// How often a running job reports progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Why a hash could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("{0}")]
    BadName(#[from] names::NameError),
    #[error("not a supported image file: {0:?} (supported: .img, .img.gz, .img.xz, .img.zst, .img.bz2, .qcow2)")]
    Unsupported(String),
    #[error("no image file at {0}")]
    NoFile(PathBuf),
    #[error("no active hash named '{0}'")]
    NoJob(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The handle to the hash workers: cheap to clone, shared by routes, the
/// reconciler and the workers themselves.
#[derive(Clone, Default)]
pub struct HashWorkers {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    pool: JobPool,
    /// Serializes "is there already a job for this name?" decisions.
    enqueue: tokio::sync::Mutex<()>,
}

/// The file a hash job reads, as it was when the job started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    size: u64,
    mtime_ns: i64,
}

impl FileStamp {
    fn of(path: &Path) -> std::io::Result<Option<Self>> {
        let metadata = std::fs::symlink_metadata(path)?;
        Ok(metadata.is_file().then(|| FileStamp {
            size: metadata.len(),
            mtime_ns: clock::mtime_ns(&metadata),
        }))
    }
}

impl HashWorkers {
    /// Starts the worker tasks on the state's task tracker.
    pub fn start(&self, state: &AppState) {
        for _ in 0..state.settings.hash_max_parallel {
            let state = state.clone();
            let workers = self.clone();
            state
                .tasks
                .clone()
                .spawn(async move { workers.work(state).await });
        }
    }

    /// Queues a hash of the image `name` unless one is queued or running, or
    /// the recorded digest still matches the file.
    pub async fn enqueue(&self, state: &AppState, name: &str) -> Result<Job, HashError> {
        let root = state.settings.image_root();
        let path = names::resolve_in_root(&root, name)?;
        if detect_format(name).is_none() {
            return Err(HashError::Unsupported(name.to_owned()));
        }
        let stamp = match FileStamp::of(&path) {
            Ok(Some(stamp)) => stamp,
            _ => return Err(HashError::NoFile(path)),
        };
        let _guard = self.inner.enqueue.lock().await;
        let latest = jobs::latest_for(&state.db, JobKind::Hash, name).await?;
        if let Some(latest) = &latest {
            let status = JobStatus::parse(&latest.status);
            if status.is_some_and(JobStatus::is_active) {
                return Ok(jobs::to_wire(latest));
            }
        }
        // A digest that still matches the file and its sidecar needs no work
        // (the reference also deduped when they were gone: defect D3).
        let known = current_digest(state, name, &path, stamp).await?;
        if let (Some(sha), Some(latest)) = (&known, &latest) {
            if latest.sha256.as_ref() == Some(sha) {
                return Ok(jobs::to_wire(latest));
            }
        }
        let created = jobs::create(
            &state.db,
            JobKind::Hash,
            name,
            path_text(&path),
            Some(stamp.size),
        )
        .await?;
        let row = match known {
            // Recorded as a job completed at once, as the reference does.
            Some(sha256) => {
                let outcome = Outcome::Completed {
                    sha256,
                    bytes: stamp.size,
                };
                jobs::finish(&state.db, created.id, &outcome)
                    .await?
                    .unwrap_or(created)
            }
            None => created,
        };
        let job = jobs::to_wire(&row);
        state.live.job(&job);
        if job.status.is_active() {
            self.inner.pool.wake();
        }
        Ok(job)
    }

    /// Cancels the newest hash job of `name`: a queued one at once, a running
    /// one within a chunk. A finished one is returned unchanged.
    pub async fn cancel(&self, state: &AppState, name: &str, by: Actor) -> Result<Job, HashError> {
        names::check_name(name)?;
        let latest = jobs::latest_for(&state.db, JobKind::Hash, name)
            .await?
            .ok_or_else(|| HashError::NoJob(name.to_owned()))?;
        match JobStatus::parse(&latest.status) {
            Some(JobStatus::Queued) => {
                let row = jobs::finish(&state.db, latest.id, &Outcome::Cancelled(None))
                    .await?
                    .unwrap_or(latest);
                let job = jobs::to_wire(&row);
                state.live.job(&job);
                if job.status == JobStatus::Cancelled {
                    record_cancelled(state, &by, name).await;
                }
                Ok(job)
            }
            Some(JobStatus::Running) => {
                self.inner.pool.cancel(latest.id, by);
                Ok(jobs::to_wire(&latest))
            }
            _ => Ok(jobs::to_wire(&latest)),
        }
    }

    /// Wakes a worker: new work is queued.
    pub fn wake(&self) {
        self.inner.pool.wake();
    }

    async fn work(self, state: AppState) {
        while let Some(job) = self.inner.pool.next(&state, JobKind::Hash).await {
            self.run(&state, job).await;
        }
    }

    async fn run(&self, state: &AppState, job: job::Model) {
        let token = self.inner.pool.started(state, job.id);
        let path = state.settings.image_root().join(&job.name);
        let result = hash_job(state, &job, &path, &token).await;
        let cancelled_by = self.inner.pool.ended(job.id);
        if state.shutdown.is_cancelled() {
            // Left `running`: the next start puts it back in the queue.
            return;
        }
        let outcome = match result {
            Ok(Some((digest, before))) => complete(state, &job.name, &path, digest, before).await,
            Ok(None) => Outcome::Cancelled(None),
            Err(error) => Outcome::Failed(error),
        };
        let row = match jobs::finish(&state.db, job.id, &outcome).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, job = job.id, "hash job outcome not recorded");
                return;
            }
        };
        state.live.job(&jobs::to_wire(&row));
        match &outcome {
            Outcome::Completed { sha256, bytes } => {
                state.metrics.add_hashed(*bytes);
                state.live.catalog_changed();
                let short = &sha256[..12];
                let event = NewEvent {
                    kind: "image.hashed",
                    subject_kind: "image",
                    subject_id: job.name.clone(),
                    summary: format!("image '{}' hashed (sha256={short}...)", job.name),
                    details: Some(json!({"name": job.name, "sha256": sha256, "bytes": bytes})),
                };
                audit::record(&state.db, &state.live, &Actor::system(), event).await;
            }
            Outcome::Failed(error) => {
                let event = NewEvent {
                    kind: "image.hash_failed",
                    subject_kind: "image",
                    subject_id: job.name.clone(),
                    summary: format!("image '{}' hash failed: {error}", job.name),
                    details: Some(json!({"name": job.name, "error": error})),
                };
                audit::record(&state.db, &state.live, &Actor::system(), event).await;
            }
            Outcome::Cancelled(_) => {
                let by = cancelled_by.unwrap_or_else(Actor::system);
                record_cancelled(state, &by, &job.name).await;
            }
        }
    }
}

/// Streams the file through SHA-256 while reporting progress. `Ok(None)`:
/// cancelled.
async fn hash_job(
    state: &AppState,
    job: &job::Model,
    path: &Path,
    token: &CancellationToken,
) -> Result<Option<(Digested, FileStamp)>, String> {
    let not_found = || format!("no image file at {}", path.display());
    let before = match FileStamp::of(path) {
        Ok(Some(stamp)) => stamp,
        Ok(None) => return Err(not_found()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(error) => return Err(error.to_string()),
    };
    let report = |done: u64| {
        let state = state.clone();
        let id = job.id;
        async move {
            if let Err(error) = jobs::progress(&state.db, id, done, Some(before.size)).await {
                tracing::warn!(%error, job = id, "progress not recorded");
            }
            if let Ok(Some(row)) = jobs::get(&state.db, id).await {
                state.live.job(&jobs::to_wire(&row));
            }
        }
    };
    let progress = Arc::new(AtomicU64::new(0));
    let cancel = Arc::new(AtomicBool::new(false));
    let mut hashing = {
        let (path, progress, cancel) = (path.to_owned(), progress.clone(), cancel.clone());
        tokio::task::spawn_blocking(move || sha256_file::hash_file(&path, &progress, &cancel))
    };
    // Reported once the hashing runs: the database need not delay it.
    report(0).await;
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    let mut reported = 0;
    let mut cancel_sent = false;
    let result = loop {
        tokio::select! {
            result = &mut hashing => break result,
            _ = token.cancelled(), if !cancel_sent => {
                cancel.store(true, Ordering::Relaxed);
                cancel_sent = true;
            }
            _ = ticker.tick() => {
                let done = progress.load(Ordering::Relaxed);
                if done != reported {
                    reported = done;
                    report(done).await;
                }
            }
        }
    };
    match result {
        Ok(Ok(Some(digest))) => Ok(Some((digest, before))),
        Ok(Ok(None)) => Ok(None),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => Err(not_found()),
        Ok(Err(error)) => Err(format!("{}: {error}", path.display())),
        Err(join_error) => Err(format!("hash task failed: {join_error}")),
    }
}

/// After a digest: check the file did not change meanwhile, then write the
/// sidecar and record the digest on the catalog row.
async fn complete(
    state: &AppState,
    name: &str,
    path: &Path,
    digest: Digested,
    before: FileStamp,
) -> Outcome {
    // Nothing else changes the image root while this digest is committed.
    let _root = state.root_lock.lock().await;
    let after = FileStamp::of(path).ok().flatten();
    if after != Some(before) {
        // The reconciler queues a fresh hash once the file has settled.
        state.reconciler.poke();
        return Outcome::Failed("the file changed while it was being hashed".into());
    }
    let sidecar_result = {
        let (path, sha) = (path.to_owned(), digest.sha256.clone());
        tokio::task::spawn_blocking(move || sidecar::write(&path, &sha)).await
    };
    match sidecar_result {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Outcome::Failed(format!("could not write the sidecar: {error}")),
        Err(error) => return Outcome::Failed(format!("could not write the sidecar: {error}")),
    }
    if let Err(error) = record_digest(state, name, &digest.sha256, before).await {
        return Outcome::Failed(format!("could not record the digest: {error}"));
    }
    Outcome::Completed {
        sha256: digest.sha256,
        bytes: digest.bytes,
    }
}

async fn record_digest(
    state: &AppState,
    name: &str,
    sha: &str,
    stamp: FileStamp,
) -> Result<(), DbErr> {
    let size = i64::try_from(stamp.size).unwrap_or(i64::MAX);
    catalog_entry::Entity::update_many()
        .col_expr(catalog_entry::Column::DiskImageSha, Expr::value(sha))
        .col_expr(catalog_entry::Column::HashedSize, Expr::value(size))
        .col_expr(
            catalog_entry::Column::HashedMtimeNs,
            Expr::value(stamp.mtime_ns),
        )
        .col_expr(catalog_entry::Column::SizeBytes, Expr::value(size))
        .col_expr(
            catalog_entry::Column::FileMtimeNs,
            Expr::value(stamp.mtime_ns),
        )
        .filter(catalog_entry::Column::Src.eq(local_src(name)))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// The digest on record for a local file, if it still describes the file
/// and its sidecar is still there.
async fn current_digest(
    state: &AppState,
    name: &str,
    path: &Path,
    stamp: FileStamp,
) -> Result<Option<String>, DbErr> {
    let row = catalog_entry::Entity::find()
        .filter(catalog_entry::Column::Src.eq(local_src(name)))
        .one(&state.db)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let size = i64::try_from(stamp.size).unwrap_or(i64::MAX);
    let matches = row.hashed_size == Some(size) && row.hashed_mtime_ns == Some(stamp.mtime_ns);
    let sidecar = sidecar::read(path);
    Ok(row
        .disk_image_sha
        .filter(|sha| matches && sidecar.as_deref() == Some(sha.as_str())))
}

async fn record_cancelled(state: &AppState, by: &Actor, name: &str) {
    let event = NewEvent {
        kind: "image.hash_cancelled",
        subject_kind: "image",
        subject_id: name.to_owned(),
        summary: format!("hash of image '{name}' cancelled"),
        details: Some(json!({"name": name})),
    };
    audit::record(&state.db, &state.live, by, event).await;
}

fn path_text(path: &Path) -> Option<String> {
    Some(path.display().to_string())
}
