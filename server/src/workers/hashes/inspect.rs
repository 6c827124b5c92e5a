//! Inspection jobs: what an image's bytes are (`crate::inspect`), found by
//! the hash workers once the bytes are complete and hashed, whichever way
//! they arrived: a hash job's digest, an upload, a download or a
//! stream-through fill. The finding is recorded by content SHA-256 through
//! the catalog service; every job ends with its events.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64},
        Arc,
    },
};

use app::model::{Job, JobKind};
use sea_orm::DbErr;
use tokio_util::sync::CancellationToken;

use super::{drive, HashWorkers};
use crate::{
    audit::Actor,
    catalog::{events, stamp::FileStamp},
    db::entity::job,
    inspect::{self, Inspection},
    workers::jobs::{self, Outcome},
};

impl HashWorkers {
    /// Queues an inspection of the bytes `sha256` (`bytes` long) at `path`,
    /// shown under `name`, unless one of them is queued or running.
    pub async fn inspect(
        &self,
        name: &str,
        path: &Path,
        sha256: &str,
        bytes: u64,
    ) -> Result<Job, DbErr> {
        let core = &self.core;
        let _guard = self.inner.enqueue_inspection.lock().await;
        if let Some(latest) = jobs::latest_for(&core.db, JobKind::Inspect, name).await? {
            if latest.status.is_active() && latest.sha256.as_deref() == Some(sha256) {
                return Ok(jobs::to_wire(&latest));
            }
        }
        let path = path.display().to_string();
        let row = jobs::create_inspection(&core.db, name, &path, sha256, bytes).await?;
        let job = jobs::to_wire(&row);
        core.live.job(&job);
        self.inner.pool.wake();
        Ok(job)
    }

    /// Queues an inspection of the bytes of every known sha that has no
    /// finding yet: images hashed or downloaded before this server
    /// inspected, or whose inspection a stop cut short before it was
    /// queued. Bytes no longer held here are left for when they are again.
    /// Returns how many were queued.
    pub async fn inspect_backlog(&self) -> Result<usize, DbErr> {
        let findings = self.catalog.findings().await?;
        let shas: BTreeSet<String> = self
            .catalog
            .entries()
            .await?
            .into_iter()
            .filter_map(|entry| entry.disk_image_sha)
            .filter(|sha| !findings.contains_key(sha))
            .collect();
        let mut queued = 0;
        for sha in shas {
            let lookup = self.catalog.lookup(&sha);
            let Some(held) = lookup.held_bytes().await? else {
                continue;
            };
            if held.sha256.as_deref() != Some(sha.as_str()) {
                continue;
            }
            let Ok(Some(stamp)) = FileStamp::read(&held.path) else {
                continue;
            };
            let name = held.name.unwrap_or_else(|| sha.clone());
            self.inspect(&name, &held.path, &sha, stamp.bytes()).await?;
            queued += 1;
        }
        Ok(queued)
    }

    pub(super) async fn run_inspection(&self, job: job::Model) {
        let core = &self.core;
        let token = self.inner.pool.started(core, job.id);
        let result = self.inspection_job(&job, &token).await;
        let stopped = self.inner.pool.ended(job.id);
        if core.shutdown.is_cancelled() || stopped.lease_lost {
            // Left `running`: the next start (or the replica that took it
            // over) runs it again.
            return;
        }
        let cancelled_by = stopped.cancelled_by;
        let sha256 = job.sha256.clone().unwrap_or_default();
        let bytes = job
            .bytes_total
            .and_then(|total| u64::try_from(total).ok())
            .unwrap_or_default();
        let (outcome, inspection) = match result {
            Ok(Some(inspection)) => {
                match self.catalog.record_inspection(&sha256, &inspection).await {
                    Ok(_) => (Outcome::Completed { sha256, bytes }, Some(inspection)),
                    Err(error) => (
                        Outcome::Failed(format!("could not record the inspection: {error}")),
                        None,
                    ),
                }
            }
            Ok(None) => (Outcome::Cancelled(None), None),
            Err(error) => (Outcome::Failed(error), None),
        };
        let row = match jobs::finish_claimed(&core.db, &core.node, job.id, &outcome).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, job = job.id, "inspection outcome not recorded");
                return;
            }
        };
        core.live.relay_job(&jobs::to_wire(&row));
        match (&outcome, inspection) {
            (Outcome::Completed { sha256, .. }, Some(inspection)) => {
                events::image_inspected(core, &job.name, sha256, &inspection).await;
            }
            (Outcome::Failed(error), _) => {
                events::image_inspection_failed(core, &job.name, error).await;
            }
            (Outcome::Cancelled(_), _) => {
                let by = cancelled_by.unwrap_or_else(Actor::system);
                events::image_inspection_cancelled(core, &by, &job.name).await;
            }
            (Outcome::Completed { .. }, None) => {}
        }
    }

    /// Reads the job's file through the inspection on a blocking thread,
    /// reporting progress in compressed bytes read. `Ok(None)`: cancelled.
    async fn inspection_job(
        &self,
        job: &job::Model,
        token: &CancellationToken,
    ) -> Result<Option<Inspection>, String> {
        let (Some(path), Some(sha256)) = (job.path.as_deref(), job.sha256.clone()) else {
            return Err("the job names no file or digest".to_owned());
        };
        let path = PathBuf::from(path);
        let not_found = || format!("no image file at {}", path.display());
        let before = match FileStamp::read(&path) {
            Ok(Some(stamp)) => stamp,
            Ok(None) => return Err(not_found()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
            Err(error) => return Err(error.to_string()),
        };
        // The cache is content-addressed and written once; a file in the
        // image root may have changed since it was hashed, and then these
        // bytes are not those of `sha256`.
        let local = !path.starts_with(self.core.settings.cache_dir());
        if local && !self.still_hashed(&job.name, &sha256, before).await {
            return Err("the file changed after it was hashed".to_owned());
        }
        let progress = Arc::new(AtomicU64::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let max = self.core.settings.max_uncompressed_bytes;
        let pass = {
            let (path, progress, cancel) = (path.clone(), progress.clone(), cancel.clone());
            tokio::task::spawn_blocking(move || {
                let report = |read| progress.store(read, std::sync::atomic::Ordering::Relaxed);
                inspect::inspect(&path, Some(&sha256), max, &report, &cancel)
            })
        };
        let result = drive(
            &self.core,
            job.id,
            before.bytes(),
            pass,
            &progress,
            &cancel,
            token,
        )
        .await;
        let inspection = match result {
            Ok(Ok(inspection)) => inspection,
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(not_found())
            }
            Ok(Err(error)) => return Err(format!("{}: {error}", path.display())),
            Err(join_error) => return Err(format!("inspection task failed: {join_error}")),
        };
        if local && FileStamp::read(&path).ok().flatten() != Some(before) {
            return Err("the file changed while it was being inspected".to_owned());
        }
        Ok(inspection)
    }

    /// Whether the image-root file `name`, as stamped, is still the one
    /// hashed to `sha256`.
    async fn still_hashed(&self, name: &str, sha256: &str, stamp: FileStamp) -> bool {
        match self.catalog.local_entry(name).await {
            Ok(Some(row)) => stamp.fresh_digest(&row) == Some(sha256),
            _ => false,
        }
    }
}
