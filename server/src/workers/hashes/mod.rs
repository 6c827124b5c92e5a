//! The hash workers: `BTY_HASH_MAX_PARALLEL` tasks that take queued hash
//! jobs, stream the file through SHA-256 on a blocking thread, then write
//! the sidecar, record the digest on the catalog row (through the catalog
//! service) and log the outcome. A file that changed meanwhile wakes the
//! reconciler, whose handle they hold. The same tasks run the inspection
//! jobs (`inspect.rs`) that follow every hash, upload and download, after
//! the hashes queued before them, so the compressed SHA-256 appears as
//! soon as ever.

mod inspect;

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use app::model::{Job, JobKind, JobStatus};
use sea_orm::DbErr;
use tokio_util::sync::CancellationToken;

use super::{
    jobs::{self, Outcome},
    pool::JobPool,
    reconciler::Reconciler,
    sha256_file::{self, Digested},
};
use crate::{
    audit::Actor,
    catalog::{
        events,
        format::{self, detect_format},
        names, sidecar,
        stamp::FileStamp,
        Catalog,
    },
    db::entity::job,
    plumbing::Core,
};

/// How often a running job reports progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Why a hash could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("{0}")]
    BadName(#[from] names::NameError),
    #[error("not a supported image file: {0:?} (supported: {list})", list = format::supported_suffixes())]
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
#[derive(Clone)]
pub struct HashWorkers {
    core: Core,
    catalog: Catalog,
    /// Woken when a file changed while it was being hashed.
    reconciler: Reconciler,
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    pool: JobPool,
    /// Serializes "is there already a job for this name?" decisions.
    enqueue: tokio::sync::Mutex<()>,
    /// The same, for inspections (queued while `enqueue` may be held).
    enqueue_inspection: tokio::sync::Mutex<()>,
}

impl HashWorkers {
    pub fn new(core: Core, catalog: Catalog, reconciler: Reconciler) -> Self {
        HashWorkers {
            core,
            catalog,
            reconciler,
            inner: Arc::default(),
        }
    }

    /// Starts the worker tasks, and their leases' heartbeat, on the core's
    /// task tracker.
    pub fn start(&self) {
        let count = self.core.settings.hash_max_parallel;
        super::pool::spawn_workers(&self.core, count, self, Self::work);
        let workers = self.clone();
        self.core.tasks.spawn(async move {
            workers.inner.pool.keep_leases(&workers.core).await;
        });
    }

    /// Queues a hash of the image `name` unless one is queued or running, or
    /// the recorded digest still matches the file.
    pub async fn enqueue(&self, name: &str) -> Result<Job, HashError> {
        let core = &self.core;
        let root = core.settings.image_root();
        let path = names::resolve_in_root(&root, name)?;
        if detect_format(name).is_none() {
            return Err(HashError::Unsupported(name.to_owned()));
        }
        let stamp = match FileStamp::read(&path) {
            Ok(Some(stamp)) => stamp,
            _ => return Err(HashError::NoFile(path)),
        };
        let _guard = self.inner.enqueue.lock().await;
        let latest = jobs::latest_for(&core.db, JobKind::Hash, name).await?;
        if let Some(latest) = &latest {
            if latest.status.is_active() {
                return Ok(jobs::to_wire(latest));
            }
        }
        // A digest that still matches the file and its sidecar needs no work
        // (the reference also deduped when they were gone: defect D3).
        let known = self.current_digest(name, &path, stamp).await?;
        if let (Some(sha), Some(latest)) = (&known, &latest) {
            if latest.sha256.as_ref() == Some(sha) {
                return Ok(jobs::to_wire(latest));
            }
        }
        let created = jobs::create(
            &core.db,
            JobKind::Hash,
            name,
            path_text(&path),
            Some(stamp.bytes()),
        )
        .await?;
        let (row, announced) = match known {
            // Recorded as a job completed at once, as the reference does.
            Some(sha256) => {
                // Bytes known from before inspections existed get theirs.
                if self.catalog.inspection(&sha256).await?.is_none() {
                    self.inspect(name, &path, &sha256, stamp.bytes()).await?;
                }
                let outcome = Outcome::Completed {
                    sha256,
                    bytes: stamp.bytes(),
                };
                let row = jobs::finish(&core.db, &core.node, created.id, &outcome).await?;
                // Its ending was announced to the other replicas with it.
                (row.unwrap_or(created), true)
            }
            None => (created, false),
        };
        let job = jobs::to_wire(&row);
        if announced {
            core.live.relay_job(&job);
        } else {
            core.live.job(&job);
        }
        if job.status.is_active() {
            self.inner.pool.wake();
        }
        Ok(job)
    }

    /// Cancels the newest hash or inspection job of `name`: a queued one at
    /// once, a running one within a chunk. A finished one is returned
    /// unchanged.
    pub async fn cancel(&self, name: &str, by: Actor) -> Result<Job, HashError> {
        let core = &self.core;
        names::check_name(name)?;
        let hash = jobs::latest_for(&core.db, JobKind::Hash, name).await?;
        let inspection = jobs::latest_for(&core.db, JobKind::Inspect, name).await?;
        // The active one, else the newer: an inspection follows its hash.
        let latest = [inspection, hash]
            .into_iter()
            .flatten()
            .max_by_key(|job| (job.status.is_active(), job.id))
            .ok_or_else(|| HashError::NoJob(name.to_owned()))?;
        match latest.status {
            JobStatus::Queued => {
                let row = jobs::finish(&core.db, &core.node, latest.id, &Outcome::Cancelled(None))
                    .await?
                    .unwrap_or(latest);
                let job = jobs::to_wire(&row);
                core.live.relay_job(&job);
                if job.status == JobStatus::Cancelled {
                    match job.kind {
                        JobKind::Inspect => {
                            events::image_inspection_cancelled(core, &by, name).await
                        }
                        _ => events::image_hash_cancelled(core, &by, name).await,
                    }
                }
                Ok(job)
            }
            JobStatus::Running => {
                self.inner.pool.cancel_anywhere(core, latest.id, by).await?;
                Ok(jobs::to_wire(&latest))
            }
            _ => Ok(jobs::to_wire(&latest)),
        }
    }

    /// Wakes a worker: new work is queued.
    pub fn wake(&self) {
        self.inner.pool.wake();
    }

    /// Stops the job `id` if it runs here, on behalf of `by` (who asked on
    /// another replica); false when it does not.
    pub fn stop_here(&self, id: i64, by: Actor) -> bool {
        self.inner.pool.cancel(id, by)
    }

    async fn work(self) {
        // Hashes first: an inspection waits for the digests queued before it.
        let kinds = [JobKind::Hash, JobKind::Inspect];
        while let Some(job) = self.inner.pool.next(&self.core, &kinds).await {
            match job.kind {
                JobKind::Inspect => self.run_inspection(job).await,
                _ => self.run(job).await,
            }
        }
    }

    async fn run(&self, job: job::Model) {
        let core = &self.core;
        let token = self.inner.pool.started(core, job.id);
        let path = core.settings.image_root().join(&job.name);
        let result = hash_job(core, &job, &path, &token).await;
        let stopped = self.inner.pool.ended(job.id);
        if core.shutdown.is_cancelled() || stopped.lease_lost {
            // Left `running`: the next start (or the replica that took it
            // over) runs it again.
            return;
        }
        let cancelled_by = stopped.cancelled_by;
        let outcome = match result {
            Ok(Some((digest, before))) => self.complete(&job.name, &path, digest, before).await,
            Ok(None) => Outcome::Cancelled(None),
            Err(error) => Outcome::Failed(error),
        };
        let row = match jobs::finish_claimed(&core.db, &core.node, job.id, &outcome).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, job = job.id, "hash job outcome not recorded");
                return;
            }
        };
        core.live.relay_job(&jobs::to_wire(&row));
        match &outcome {
            Outcome::Completed { sha256, bytes } => {
                core.metrics.add_hashed(*bytes);
                events::image_hashed(core, &job.name, sha256, *bytes).await;
                if let Err(error) = self.inspect(&job.name, &path, sha256, *bytes).await {
                    tracing::error!(%error, name = job.name, "inspection not queued");
                }
            }
            Outcome::Failed(error) => events::image_hash_failed(core, &job.name, error).await,
            Outcome::Cancelled(_) => {
                let by = cancelled_by.unwrap_or_else(Actor::system);
                events::image_hash_cancelled(core, &by, &job.name).await;
            }
        }
    }

    /// After a digest: check the file did not change meanwhile, then write
    /// the sidecar and record the digest on the catalog row.
    async fn complete(
        &self,
        name: &str,
        path: &Path,
        digest: Digested,
        before: FileStamp,
    ) -> Outcome {
        // Nothing else changes the image root while this digest is committed.
        let _root = self.catalog.lock_image_root().await;
        let after = FileStamp::read(path).ok().flatten();
        if after != Some(before) {
            // The reconciler queues a fresh hash once the file has settled.
            self.reconciler.poke();
            return Outcome::Failed("the file changed while it was being hashed".into());
        }
        let sidecar_result = {
            let (path, sha) = (path.to_owned(), digest.sha256.clone());
            tokio::task::spawn_blocking(move || sidecar::write(&path, &sha)).await
        };
        match sidecar_result {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                return Outcome::Failed(format!("could not write the sidecar: {error}"))
            }
            Err(error) => return Outcome::Failed(format!("could not write the sidecar: {error}")),
        }
        if let Err(error) = self
            .catalog
            .record_digest(name, &digest.sha256, before)
            .await
        {
            return Outcome::Failed(format!("could not record the digest: {error}"));
        }
        Outcome::Completed {
            sha256: digest.sha256,
            bytes: digest.bytes,
        }
    }

    /// The digest on record for a local file, if it still describes the
    /// file and its sidecar is still there.
    async fn current_digest(
        &self,
        name: &str,
        path: &Path,
        stamp: FileStamp,
    ) -> Result<Option<String>, DbErr> {
        let Some(row) = self.catalog.local_entry(name).await? else {
            return Ok(None);
        };
        let sidecar = sidecar::read(path);
        Ok(stamp
            .fresh_digest(&row)
            .filter(|sha| sidecar.as_deref() == Some(*sha))
            .map(str::to_owned))
    }
}

/// Streams the file through SHA-256 while reporting progress. `Ok(None)`:
/// cancelled.
async fn hash_job(
    core: &Core,
    job: &job::Model,
    path: &Path,
    token: &CancellationToken,
) -> Result<Option<(Digested, FileStamp)>, String> {
    let not_found = || format!("no image file at {}", path.display());
    let before = match FileStamp::read(path) {
        Ok(Some(stamp)) => stamp,
        Ok(None) => return Err(not_found()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(error) => return Err(error.to_string()),
    };
    let progress = Arc::new(AtomicU64::new(0));
    let cancel = Arc::new(AtomicBool::new(false));
    let hashing = {
        let (path, progress, cancel) = (path.to_owned(), progress.clone(), cancel.clone());
        tokio::task::spawn_blocking(move || sha256_file::hash_file(&path, &progress, &cancel))
    };
    let result = drive(
        core,
        job.id,
        before.bytes(),
        hashing,
        &progress,
        &cancel,
        token,
    )
    .await;
    match result {
        Ok(Ok(Some(digest))) => Ok(Some((digest, before))),
        Ok(Ok(None)) => Ok(None),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => Err(not_found()),
        Ok(Err(error)) => Err(format!("{}: {error}", path.display())),
        Err(join_error) => Err(format!("hash task failed: {join_error}")),
    }
}

/// Waits for a blocking pass over a file (`task`, which reads `progress`
/// and stops when `cancel` is raised), recording its progress on the job
/// row `id` (of `total` bytes) and sending it live every
/// [`PROGRESS_EVERY`], and raising `cancel` when the job's `token` is.
/// Shared by hashes and inspections.
pub(super) async fn drive<T>(
    core: &Core,
    id: i64,
    total: u64,
    mut task: tokio::task::JoinHandle<T>,
    progress: &AtomicU64,
    cancel: &AtomicBool,
    token: &CancellationToken,
) -> Result<T, tokio::task::JoinError> {
    let report = |done: u64| {
        let core = core.clone();
        async move {
            if let Err(error) = jobs::progress(&core.db, id, done, Some(total)).await {
                tracing::warn!(%error, job = id, "progress not recorded");
            }
            if let Ok(Some(row)) = jobs::get(&core.db, id).await {
                core.live.job(&jobs::to_wire(&row));
            }
        }
    };
    // Reported once the pass runs: the database need not delay it.
    report(0).await;
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    let mut reported = 0;
    let mut cancel_sent = false;
    loop {
        tokio::select! {
            result = &mut task => return result,
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
    }
}

fn path_text(path: &Path) -> Option<String> {
    Some(path.display().to_string())
}
