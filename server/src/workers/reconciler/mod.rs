//! The image-root reconciler keeps one `local` catalog row per supported
//! image file: at start-up, whenever the watch reports a change (see
//! [`watch`]), and when asked. A new or changed file is queued for
//! hashing at once when the watch saw its bytes complete (closed after
//! writing, or renamed in), else once it has stopped changing; vanished
//! files lose their row and are never offered again. It holds the catalog
//! service, which writes the rows, and the hash workers' handle, which it
//! wakes; the hash workers hold its [`Reconciler`] handle in turn. Among
//! replicas sharing one root, only the one that leads reconciles it.

mod watch;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, SystemTime},
};

use app::model::{JobKind, JobStatus};
use sea_orm::DbErr;
use tokio::sync::mpsc;

pub use self::watch::{watch, RootWatcher};
use self::watch::{Completions, Wake};
use super::{hashes::HashWorkers, jobs};
use crate::{
    atomic_file,
    audit::Actor,
    catalog::{format::detect_format, sidecar, stamp::FileStamp, Catalog},
    db::entity::{catalog_entry, job},
    plumbing::Core,
};

/// A file the watch did not see complete, modified more recently than
/// this, may still be being written: it gets its row at once, its hash
/// when it settles.
const SETTLE: Duration = Duration::from_secs(1);
/// More than the lag of the clock the kernel stamps file times with.
const CLOCK_TICK: Duration = Duration::from_millis(50);
/// Changes arriving this close together are reconciled once (a file being
/// written reports every write); a file becoming complete is not kept
/// waiting for it.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// The handle to ask for a reconcile pass, and what the watch has seen.
#[derive(Clone)]
pub struct Reconciler {
    pokes: mpsc::Sender<()>,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Some file became complete since the last pass began: no debounce.
    urgent: AtomicBool,
    completions: Completions,
}

/// The receiving side, taken by [`ImageRootReconciler::run`].
pub struct ReconcilerInbox(mpsc::Receiver<()>);

/// The reconciler itself: what a pass reads and writes through.
#[derive(Clone)]
pub struct ImageRootReconciler {
    pub core: Core,
    pub catalog: Catalog,
    /// Woken for every file whose digest is unknown.
    pub hashes: HashWorkers,
    /// Its own handle: what the watch saw complete.
    pub handle: Reconciler,
    /// Whether this replica reconciles the root: always when alone on its
    /// database; among replicas, the one that leads (`cluster::leader`).
    pub leading: tokio::sync::watch::Receiver<bool>,
}

impl Reconciler {
    pub fn new() -> (Self, ReconcilerInbox) {
        let (pokes, inbox) = mpsc::channel(1);
        let shared = Arc::default();
        (Reconciler { pokes, shared }, ReconcilerInbox(inbox))
    }

    /// Asks for a pass soon; many pokes before it runs make one pass.
    pub fn poke(&self) {
        let _ = self.pokes.try_send(());
    }

    /// Asks for a pass at once.
    fn poke_now(&self) {
        self.shared.urgent.store(true, Ordering::Release);
        self.poke();
    }

    /// Takes one event of the watch (called on the watch's own thread).
    fn observe(&self, event: notify::Result<notify::Event>) {
        let wake = match event {
            Ok(event) => self.shared.completions.observe(&event),
            Err(error) => {
                tracing::warn!(%error, "the image-root watch reported an error");
                self.shared.completions.forget_all();
                Wake::Soon
            }
        };
        match wake {
            Wake::Now => self.poke_now(),
            Wake::Soon => self.poke(),
            Wake::Never => {}
        }
    }

    /// True when the watch saw the file `name` complete and nothing since.
    fn is_complete(&self, name: &str) -> bool {
        self.shared.completions.is_complete(name)
    }
}

/// One file in the image root.
#[derive(Clone, Debug)]
struct ImageFile {
    name: String,
    stamp: FileStamp,
    modified: SystemTime,
    /// The sidecar's digest, when it is no older than the file.
    sidecar_sha: Option<String>,
}

/// What a pass found.
#[derive(Debug, Default)]
pub struct Report {
    pub changed: bool,
    /// Some file is still being written: look again then.
    pub recheck_in: Option<Duration>,
}

impl ImageRootReconciler {
    /// Reconciles on every poke (and when a settling file is due) until
    /// shutdown. Holds the watcher so it lives as long as the loop.
    pub async fn run(self, inbox: ReconcilerInbox, watcher: Option<RootWatcher>) {
        let _watcher = watcher;
        let ReconcilerInbox(mut inbox) = inbox;
        let urgent = &self.handle.shared.urgent;
        let mut leading = self.leading.clone();
        let mut leadership_open = true;
        // The start-up pass (in `startup`) may have left files to settle, and
        // its report does not reach this loop: look again soon regardless.
        let mut recheck = Some(tokio::time::Instant::now());
        loop {
            let settle = async {
                match recheck {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.core.shutdown.cancelled() => return,
                poke = inbox.recv() => if poke.is_none() { return },
                _ = settle => {}
                changed = leading.changed(), if leadership_open => {
                    if changed.is_err() {
                        leadership_open = false;
                        continue;
                    }
                    if !*leading.borrow_and_update() {
                        continue;
                    }
                    // A new leader looks at once: changes since the last
                    // leader's pass went unreconciled.
                    urgent.store(true, Ordering::Release);
                }
            }
            let quiet = tokio::time::sleep(DEBOUNCE);
            tokio::pin!(quiet);
            while !urgent.load(Ordering::Acquire) {
                tokio::select! {
                    _ = self.core.shutdown.cancelled() => return,
                    _ = &mut quiet => break,
                    poke = inbox.recv() => if poke.is_none() { return },
                }
            }
            // Pokes until here are covered by this pass; later ones make another.
            while inbox.try_recv().is_ok() {}
            urgent.store(false, Ordering::Release);
            match self.reconcile().await {
                Ok(report) => {
                    recheck = report.recheck_in.map(|d| tokio::time::Instant::now() + d);
                }
                Err(error) => tracing::error!(%error, "reconciling the image root failed"),
            }
        }
    }

    /// Makes the `local` rows match the image root; queues hashes for files
    /// whose digest is unknown.
    /// A replica that does not lead does nothing.
    pub async fn reconcile(&self) -> Result<Report, DbErr> {
        if !*self.leading.borrow() {
            return Ok(Report::default());
        }
        let catalog = &self.catalog;
        let _root = catalog.lock_image_root().await;
        let root = self.core.settings.image_root();
        let files = match tokio::task::spawn_blocking(move || scan(&root)).await {
            Ok(Ok(files)) => files,
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot list the image root");
                return Ok(Report::default());
            }
            Err(error) => {
                tracing::error!(%error, "image root scan failed");
                return Ok(Report::default());
            }
        };
        let mut rows: HashMap<String, catalog_entry::Model> = catalog
            .local_entries()
            .await?
            .into_iter()
            .map(|row| (row.name.clone(), row))
            .collect();
        let latest_jobs: HashMap<String, _> =
            jobs::latest_per_name(&self.core.db, Some(JobKind::Hash))
                .await?
                .into_iter()
                .map(|job| (job.name.clone(), job))
                .collect();

        let mut report = Report::default();
        let now = SystemTime::now();
        for file in &files {
            let row = rows.remove(&file.name);
            let sha = match row {
                None => {
                    catalog
                        .add_local_file(&file.name, file.stamp, file.sidecar_sha.clone())
                        .await?;
                    report.changed = true;
                    file.sidecar_sha.clone()
                }
                Some(row)
                    if row.size_bytes != Some(file.stamp.size)
                        || row.file_mtime_ns != Some(file.stamp.mtime_ns) =>
                {
                    self.update_changed_row(row, file).await?;
                    report.changed = true;
                    file.sidecar_sha.clone()
                }
                // A fresh sidecar that came after its file (copied in just
                // after it) is trusted as one that came first is; the hash
                // queued or running for the file is not needed any more.
                Some(row) if row.disk_image_sha.is_none() && file.sidecar_sha.is_some() => {
                    self.update_changed_row(row, file).await?;
                    report.changed = true;
                    let hashing = latest_jobs
                        .get(&file.name)
                        .is_some_and(|job| job.status.is_active());
                    if hashing {
                        if let Err(error) = self.hashes.cancel(&file.name, Actor::system()).await {
                            tracing::warn!(%error, name = file.name, "hash not cancelled");
                        }
                    }
                    file.sidecar_sha.clone()
                }
                Some(row) => row.disk_image_sha,
            };
            if sha.is_some() {
                continue;
            }
            let age = now.duration_since(file.modified).unwrap_or_default();
            if age < SETTLE && !self.handle.is_complete(&file.name) {
                let wait = SETTLE - age + Duration::from_millis(50);
                report.recheck_in = Some(report.recheck_in.map_or(wait, |w| w.min(wait)));
                continue;
            }
            if needs_hash(latest_jobs.get(&file.name), file) {
                if let Err(error) = self.hashes.enqueue(&file.name).await {
                    tracing::warn!(%error, name = file.name, "hash not queued");
                }
            }
        }
        // Rows left have no file any more: they stop being listed.
        for (_, row) in rows {
            catalog.remove_local_file(row).await?;
            report.changed = true;
        }
        Ok(report)
    }

    /// The file changed size or time, or got a sidecar: its digest is stale
    /// (D2), unless a sidecar written after the change
    /// vouches for it.
    async fn update_changed_row(
        &self,
        row: catalog_entry::Model,
        file: &ImageFile,
    ) -> Result<(), DbErr> {
        let sha = if file.stamp.matches_digest_of(&row) {
            row.disk_image_sha.clone()
        } else {
            file.sidecar_sha.clone()
        };
        if sha.is_none() {
            let image = self.core.settings.image_root().join(&file.name);
            if let Err(error) = tokio::task::spawn_blocking(move || sidecar::remove(&image)).await {
                tracing::warn!(%error, "stale sidecar not removed");
            }
        }
        self.catalog.restamp_local_file(row, file.stamp, sha).await
    }
}

/// Hash unless a job is under way, or the newest one already saw this
/// version of the file and ended (a failure is not retried in a loop; the
/// operator's Hash button retries).
fn needs_hash(latest: Option<&job::Model>, file: &ImageFile) -> bool {
    let Some(job) = latest else { return true };
    let status = job.status;
    if status.is_active() {
        return false;
    }
    // The kernel may stamp a write with a clock a tick behind (a few ms):
    // a job created that close after the stamp may have missed the write.
    // A file hashed at once when it completes is often that close.
    let margin_ns = CLOCK_TICK.as_nanos() as f64;
    let saw_this_version = job.created_at * 1e9 >= file.stamp.mtime_ns as f64 + margin_ns;
    !(saw_this_version && matches!(status, JobStatus::Failed | JobStatus::Cancelled))
}

/// Lists the supported image files in `root` (not recursive; symlinks,
/// sidecars, temporary and unsupported files are skipped).
fn scan(root: &Path) -> std::io::Result<Vec<ImageFile>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if atomic_file::is_temp_name(&name) || detect_format(&name).is_none() {
            continue;
        }
        let Ok(metadata) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !metadata.is_file() {
            continue;
        }
        let path: PathBuf = entry.path();
        let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let sidecar_fresh = std::fs::metadata(sidecar::path_for(&path))
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= modified);
        files.push(ImageFile {
            stamp: FileStamp::of(&metadata),
            modified,
            sidecar_sha: sidecar_fresh.then(|| sidecar::read(&path)).flatten(),
            name,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use app::model::JobKind;

    use super::*;
    use crate::db::entity::job::DownloadMode;

    fn file_modified_at(epoch_seconds: f64) -> ImageFile {
        ImageFile {
            name: "disk.img".into(),
            stamp: FileStamp {
                size: 1,
                mtime_ns: (epoch_seconds * 1e9) as i64,
            },
            modified: SystemTime::UNIX_EPOCH,
            sidecar_sha: None,
        }
    }

    fn job(status: JobStatus, created_at: f64) -> job::Model {
        job::Model {
            id: 1,
            kind: JobKind::Hash,
            name: "disk.img".into(),
            path: None,
            src: None,
            status,
            bytes_done: 0,
            bytes_total: None,
            sha256: None,
            error: None,
            created_at,
            started_at: None,
            finished_at: None,
            attempt: 0,
            validator: None,
            mode: DownloadMode::Fetch,
            claimed_by: None,
            lease_until: None,
            cancel_requested_by: None,
            reserved_bytes: None,
        }
    }

    #[test]
    fn a_failed_hash_is_retried_only_for_a_version_it_may_not_have_seen() {
        let file = file_modified_at(1000.0);
        assert!(needs_hash(None, &file));
        assert!(!needs_hash(Some(&job(JobStatus::Running, 999.0)), &file));
        // Created well after the change: it saw this version and failed.
        assert!(!needs_hash(Some(&job(JobStatus::Failed, 1002.0)), &file));
        assert!(!needs_hash(Some(&job(JobStatus::Cancelled, 1002.0)), &file));
        // Created before the change, or within a clock tick of its stamp.
        assert!(needs_hash(Some(&job(JobStatus::Failed, 999.0)), &file));
        assert!(needs_hash(Some(&job(JobStatus::Failed, 1000.005)), &file));
        // A completed hash whose digest was taken off (the file changed).
        assert!(needs_hash(Some(&job(JobStatus::Completed, 1002.0)), &file));
    }
}
