//! The image-root reconciler keeps one `local` catalog row per supported
//! image file: at start-up, whenever the watch reports a change (see
//! [`super::watch`]), and when asked. A new or changed file is queued for
//! hashing at once when the watch saw its bytes complete (closed after
//! writing, or renamed in), else once it has stopped changing; vanished
//! files lose their row and are never offered again.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, SystemTime},
};

use app::model::{JobKind, JobStatus, SourceKind};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use tokio::sync::mpsc;

pub use super::watch::watch;
use super::{
    format::detect_format,
    identity::{image_ref_for_src, local_src},
    sidecar,
    watch::{Completions, RootWatcher, Wake},
};
use crate::{
    atomic_file,
    audit::Actor,
    clock,
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    state::AppState,
    workers::jobs,
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

/// The receiving side, taken by [`run`].
pub struct ReconcilerInbox(mpsc::Receiver<()>);

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
    pub(super) fn observe(&self, event: notify::Result<notify::Event>) {
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
    size: i64,
    mtime_ns: i64,
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

/// Reconciles on every poke (and when a settling file is due) until
/// shutdown. Holds the watcher so it lives as long as the loop.
pub async fn run(state: AppState, inbox: ReconcilerInbox, watcher: Option<RootWatcher>) {
    let _watcher = watcher;
    let ReconcilerInbox(mut inbox) = inbox;
    let urgent = &state.reconciler.shared.urgent;
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
            _ = state.shutdown.cancelled() => return,
            poke = inbox.recv() => if poke.is_none() { return },
            _ = settle => {}
        }
        let quiet = tokio::time::sleep(DEBOUNCE);
        tokio::pin!(quiet);
        while !urgent.load(Ordering::Acquire) {
            tokio::select! {
                _ = state.shutdown.cancelled() => return,
                _ = &mut quiet => break,
                poke = inbox.recv() => if poke.is_none() { return },
            }
        }
        // Pokes until here are covered by this pass; later ones make another.
        while inbox.try_recv().is_ok() {}
        urgent.store(false, Ordering::Release);
        match reconcile(&state).await {
            Ok(report) => {
                recheck = report.recheck_in.map(|d| tokio::time::Instant::now() + d);
            }
            Err(error) => tracing::error!(%error, "reconciling the image root failed"),
        }
    }
}

/// Makes the `local` rows match the image root; queues hashes for files
/// whose digest is unknown.
pub async fn reconcile(state: &AppState) -> Result<Report, DbErr> {
    let _root = state.root_lock.lock().await;
    let root = state.settings.image_root();
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
    let db = &state.db;
    let mut rows: HashMap<String, catalog_entry::Model> = CatalogEntries::find()
        .filter(catalog_entry::Column::SourceKind.eq(SourceKind::Local.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.name.clone(), row))
        .collect();
    let latest_jobs: HashMap<String, _> = jobs::latest_per_name(db, Some(JobKind::Hash))
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
                insert_row(db, file).await?;
                report.changed = true;
                file.sidecar_sha.clone()
            }
            Some(row)
                if row.size_bytes != Some(file.size)
                    || row.file_mtime_ns != Some(file.mtime_ns) =>
            {
                update_changed_row(state, row, file).await?;
                report.changed = true;
                file.sidecar_sha.clone()
            }
            // A fresh sidecar that came after its file (copied in just
            // after it) is trusted as one that came first is; the hash
            // queued or running for the file is not needed any more.
            Some(row) if row.disk_image_sha.is_none() && file.sidecar_sha.is_some() => {
                update_changed_row(state, row, file).await?;
                report.changed = true;
                let hashing = latest_jobs.get(&file.name).is_some_and(|job| {
                    JobStatus::parse(&job.status).is_some_and(JobStatus::is_active)
                });
                if hashing {
                    if let Err(error) = state
                        .hashes
                        .cancel(state, &file.name, Actor::system())
                        .await
                    {
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
        if age < SETTLE && !state.reconciler.is_complete(&file.name) {
            let wait = SETTLE - age + Duration::from_millis(50);
            report.recheck_in = Some(report.recheck_in.map_or(wait, |w| w.min(wait)));
            continue;
        }
        if needs_hash(latest_jobs.get(&file.name), file) {
            if let Err(error) = state.hashes.enqueue(state, &file.name).await {
                tracing::warn!(%error, name = file.name, "hash not queued");
            }
        }
    }
    // Rows left have no file any more: they stop being listed.
    for (_, row) in rows {
        CatalogEntries::delete_by_id(row.bty_image_ref)
            .exec(db)
            .await?;
        report.changed = true;
    }
    if report.changed {
        state.live.catalog_changed();
    }
    Ok(report)
}

/// Hash unless a job is under way, or the newest one already saw this
/// version of the file and ended (a failure is not retried in a loop; the
/// operator's Hash button retries).
fn needs_hash(latest: Option<&crate::db::entity::job::Model>, file: &ImageFile) -> bool {
    let Some(job) = latest else { return true };
    let status = JobStatus::parse(&job.status).unwrap_or(JobStatus::Failed);
    if status.is_active() {
        return false;
    }
    // The kernel may stamp a write with a clock a tick behind (a few ms):
    // a job created that close after the stamp may have missed the write.
    // A file hashed at once when it completes is often that close.
    let margin_ns = CLOCK_TICK.as_nanos() as f64;
    let saw_this_version = job.created_at * 1e9 >= file.mtime_ns as f64 + margin_ns;
    !(saw_this_version && matches!(status, JobStatus::Failed | JobStatus::Cancelled))
}

/// Records a file whose digest is known (an upload): inserts its `local`
/// row or replaces what the row said. Hold the [`crate::catalog::ImageRootLock`].
pub async fn record_hashed_file(
    db: &DatabaseConnection,
    name: &str,
    size: i64,
    mtime_ns: i64,
    sha256: &str,
) -> Result<(), DbErr> {
    let src = local_src(name);
    let existing = CatalogEntries::find()
        .filter(catalog_entry::Column::Src.eq(src.as_str()))
        .one(db)
        .await?;
    let is_new = existing.is_none();
    let mut row: catalog_entry::ActiveModel = match existing {
        Some(row) => row.into(),
        None => {
            let Ok(image_ref) = image_ref_for_src(&src) else {
                return Ok(());
            };
            catalog_entry::ActiveModel {
                bty_image_ref: Set(image_ref),
                src: Set(src),
                name: Set(name.to_owned()),
                sha_url: Set(None),
                description: Set(None),
                added_at: Set(clock::now_iso()),
                source_kind: Set(SourceKind::Local.as_str().to_owned()),
                ..Default::default()
            }
        }
    };
    row.disk_image_sha = Set(Some(sha256.to_owned()));
    row.format = Set(detect_format(name).map(str::to_owned));
    row.size_bytes = Set(Some(size));
    row.file_mtime_ns = Set(Some(mtime_ns));
    row.hashed_size = Set(Some(size));
    row.hashed_mtime_ns = Set(Some(mtime_ns));
    if is_new {
        row.insert(db).await?;
    } else {
        row.update(db).await?;
    }
    Ok(())
}

async fn insert_row(db: &DatabaseConnection, file: &ImageFile) -> Result<(), DbErr> {
    let src = local_src(&file.name);
    let Ok(image_ref) = image_ref_for_src(&src) else {
        return Ok(());
    };
    let hashed = file.sidecar_sha.is_some();
    catalog_entry::ActiveModel {
        bty_image_ref: Set(image_ref),
        src: Set(src),
        disk_image_sha: Set(file.sidecar_sha.clone()),
        name: Set(file.name.clone()),
        sha_url: Set(None),
        format: Set(detect_format(&file.name).map(str::to_owned)),
        size_bytes: Set(Some(file.size)),
        description: Set(None),
        added_at: Set(clock::now_iso()),
        source_kind: Set(SourceKind::Local.as_str().to_owned()),
        file_mtime_ns: Set(Some(file.mtime_ns)),
        hashed_size: Set(hashed.then_some(file.size)),
        hashed_mtime_ns: Set(hashed.then_some(file.mtime_ns)),
        sha_observed: Set(false),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The file changed size or time, or got a sidecar: its digest is stale
/// (reference defect D2), unless a sidecar written after the change vouches
/// for it.
async fn update_changed_row(
    state: &AppState,
    row: catalog_entry::Model,
    file: &ImageFile,
) -> Result<(), DbErr> {
    let still_valid =
        row.hashed_size == Some(file.size) && row.hashed_mtime_ns == Some(file.mtime_ns);
    let sha = if still_valid {
        row.disk_image_sha.clone()
    } else {
        file.sidecar_sha.clone()
    };
    if sha.is_none() {
        let image = state.settings.image_root().join(&file.name);
        if let Err(error) = tokio::task::spawn_blocking(move || sidecar::remove(&image)).await {
            tracing::warn!(%error, "stale sidecar not removed");
        }
    }
    let hashed = sha.is_some();
    let mut active: catalog_entry::ActiveModel = row.into();
    active.size_bytes = Set(Some(file.size));
    active.file_mtime_ns = Set(Some(file.mtime_ns));
    active.disk_image_sha = Set(sha);
    active.hashed_size = Set(hashed.then_some(file.size));
    active.hashed_mtime_ns = Set(hashed.then_some(file.mtime_ns));
    active.update(&state.db).await?;
    Ok(())
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
            size: i64::try_from(metadata.len()).unwrap_or(i64::MAX),
            mtime_ns: clock::mtime_ns(&metadata),
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
    use super::*;
    use crate::db::entity::job;

    fn file_modified_at(epoch_seconds: f64) -> ImageFile {
        ImageFile {
            name: "disk.img".into(),
            size: 1,
            mtime_ns: (epoch_seconds * 1e9) as i64,
            modified: SystemTime::UNIX_EPOCH,
            sidecar_sha: None,
        }
    }

    fn job(status: JobStatus, created_at: f64) -> job::Model {
        job::Model {
            id: 1,
            kind: "hash".into(),
            name: "disk.img".into(),
            path: None,
            src: None,
            status: status.as_str().into(),
            bytes_done: 0,
            bytes_total: None,
            sha256: None,
            error: None,
            created_at,
            started_at: None,
            finished_at: None,
            attempt: 0,
            validator: None,
            mode: "fetch".into(),
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
