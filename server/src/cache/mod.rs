//! The content-addressed download cache (`$BTY_STATE_DIR/cache`): complete
//! images named by their SHA-256, and one partial file per entry being
//! downloaded (`.<bty_image_ref>.bty-partial`, a name the byte routes and
//! sweeps treat as temporary, fixed so a restart finds it and resumes).
//! Its real disk usage and free space, the readers it serves now
//! ([`Readers`]), an operator's eviction (with its audit event), and the
//! start-up sweep of partials no job will resume. What may be evicted to
//! make room, and when, is the quota's (`crate::quota`).

mod readers;

use std::{
    collections::{HashMap, HashSet},
    io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use app::model::CacheUsage;
use serde_json::json;

pub use self::readers::{ReadGuard, ReadKey, Readers};
use crate::{
    atomic_file::{self, TEMP_SUFFIX},
    audit::{self, Actor, NewEvent},
    clock,
    digest::is_sha256_hex,
    plumbing::Core,
    settings::Settings,
};

/// Where the complete image with this SHA-256 lives.
pub fn cached_path(cache_dir: &Path, sha256: &str) -> PathBuf {
    cache_dir.join(sha256)
}

/// True when the cache holds the image with this SHA-256.
pub fn is_cached(cache_dir: &Path, sha256: &str) -> bool {
    is_sha256_hex(sha256)
        && std::fs::symlink_metadata(cached_path(cache_dir, sha256)).is_ok_and(|m| m.is_file())
}

/// The partial file a download of the entry `image_ref` writes.
pub fn partial_path(cache_dir: &Path, image_ref: &str) -> PathBuf {
    cache_dir.join(format!(".{image_ref}{TEMP_SUFFIX}"))
}

/// One complete image in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedImage {
    pub sha256: String,
    /// What it takes on disk (allocated blocks).
    pub bytes: u64,
    /// When it was written (its download's end), in microseconds since the
    /// epoch: its last use until a client reads it.
    pub written_us: i64,
}

/// What the cache holds now, file by file.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub images: Vec<CachedImage>,
    /// The length of every other file (partial downloads), by path.
    pub partials: HashMap<PathBuf, u64>,
    /// What all its files take on disk (allocated blocks), partials included.
    pub bytes: u64,
    /// Free for an unprivileged writer on the cache's file system.
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
}

/// Lists the cache's files and its file system's free space. Blocking.
pub fn scan(cache_dir: &Path) -> Scan {
    let mut scan = Scan::default();
    if let Ok(entries) = std::fs::read_dir(cache_dir) {
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if !metadata.is_file() {
                continue;
            }
            let bytes = metadata.blocks() * 512;
            scan.bytes += bytes;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_sha256_hex(&name) {
                scan.images.push(CachedImage {
                    sha256: name,
                    bytes,
                    written_us: clock::mtime_ns(&metadata) / 1000,
                });
            } else {
                scan.partials.insert(entry.path(), metadata.len());
            }
        }
    }
    if let Ok(stats) = rustix::fs::statvfs(cache_dir) {
        scan.free_bytes = Some(stats.f_bavail.saturating_mul(stats.f_frsize));
        scan.total_bytes = Some(stats.f_blocks.saturating_mul(stats.f_frsize));
    }
    scan
}

/// [`scan`] off the executor.
pub async fn scan_now(cache_dir: &Path) -> Scan {
    let dir = cache_dir.to_owned();
    tokio::task::spawn_blocking(move || scan(&dir))
        .await
        .unwrap_or_default()
}

/// What the cache's files take on disk (allocated blocks, partials
/// included) and what its file system has left. Blocking.
pub fn usage(cache_dir: &Path) -> CacheUsage {
    let scan = scan(cache_dir);
    CacheUsage {
        cache_dir: cache_dir.display().to_string(),
        files: scan.images.len() as u64,
        bytes: scan.bytes,
        free_bytes: scan.free_bytes,
        total_bytes: scan.total_bytes,
        quota_bytes: None,
    }
}

/// [`usage`] of the configured cache, with its quota, off the executor.
pub async fn usage_now(settings: &Settings) -> CacheUsage {
    let dir = settings.cache_dir();
    let quota_bytes = settings.cache_max_bytes;
    let measured = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || usage(&dir)).await
    };
    let usage = measured.unwrap_or_else(|_| CacheUsage {
        cache_dir: dir.display().to_string(),
        ..CacheUsage::default()
    });
    CacheUsage {
        quota_bytes,
        ..usage
    }
}

/// The handle to the cache for the routes and the download workers:
/// where its files are, what it holds, and evicting from it. Every change
/// of its files tells open pages by itself.
#[derive(Clone)]
pub struct Cache {
    core: Core,
    readers: Readers,
}

impl Cache {
    pub fn new(core: Core) -> Self {
        Cache {
            core,
            readers: Readers::default(),
        }
    }

    /// Who reads from the cache right now.
    pub fn readers(&self) -> &Readers {
        &self.readers
    }

    pub fn dir(&self) -> PathBuf {
        self.core.settings.cache_dir()
    }

    /// True when the cache holds the image with this SHA-256.
    pub fn holds(&self, sha256: &str) -> bool {
        is_cached(&self.dir(), sha256)
    }

    /// Where the complete image with this SHA-256 lives.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        cached_path(&self.dir(), sha256)
    }

    /// The size of the cached image with this SHA-256 (0 when absent).
    pub fn size_of(&self, sha256: &str) -> u64 {
        std::fs::metadata(self.path_of(sha256))
            .map(|m| m.len())
            .unwrap_or_default()
    }

    /// The partial file a download of the entry `image_ref` writes.
    pub fn partial_path(&self, image_ref: &str) -> PathBuf {
        partial_path(&self.dir(), image_ref)
    }

    /// The disk usage now, and the quota.
    pub async fn usage(&self) -> CacheUsage {
        usage_now(&self.core.settings).await
    }

    /// After the cache gained or lost a file, or a sha was learnt: the
    /// unified view is rebuilt and open pages get the cache's usage.
    pub async fn changed(&self) {
        self.core.live.catalog_changed();
        let usage = self.usage().await;
        self.core.live.cache(&usage);
    }

    /// Removes `cache/<sha256>` off the executor; `Ok(false)` when it was
    /// not there.
    pub async fn remove(&self, sha256: &str) -> io::Result<bool> {
        let (dir, sha) = (self.dir(), sha256.to_owned());
        tokio::task::spawn_blocking(move || remove(&dir, &sha))
            .await
            .map_err(io::Error::other)?
    }

    /// Evicts the cached bytes of the entry `name` (whose sha is `sha256`)
    /// on behalf of `actor`: logs `catalog.cache.deleted` and tells open
    /// pages. `Ok(false)` when they were not cached.
    pub async fn evict(&self, name: &str, sha256: &str, actor: &Actor) -> io::Result<bool> {
        if !self.remove(sha256).await? {
            return Ok(false);
        }
        let short = sha256.get(..12).unwrap_or(sha256);
        let event = NewEvent {
            kind: "catalog.cache.deleted",
            subject_kind: "catalog",
            subject_id: name.to_owned(),
            summary: format!("cached bytes of '{name}' evicted (sha256={short}...)"),
            details: Some(json!({"name": name, "disk_image_sha": sha256})),
        };
        audit::record(&self.core.db, &self.core.live, actor, event).await;
        self.changed().await;
        Ok(true)
    }
}

impl Cache {
    /// Removes `cache/<sha256>` unless one of `readers` is reading it (the
    /// image itself, or an entry streamed through that has it), off the
    /// executor: the bytes it took on disk, `Ok(None)` when it was being
    /// read or was not there.
    pub async fn remove_unread(
        &self,
        sha256: &str,
        readers: Vec<ReadKey>,
    ) -> io::Result<Option<u64>> {
        let (dir, sha, open) = (self.dir(), sha256.to_owned(), self.readers.clone());
        tokio::task::spawn_blocking(move || {
            let path = cached_path(&dir, &sha);
            let bytes = match std::fs::symlink_metadata(&path) {
                Ok(metadata) if metadata.is_file() => metadata.blocks() * 512,
                _ => return Ok(None),
            };
            match open.unless_read(&readers, || remove(&dir, &sha)) {
                Some(Ok(true)) => Ok(Some(bytes)),
                Some(Ok(false)) | None => Ok(None),
                Some(Err(error)) => Err(error),
            }
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// Removes `cache/<sha256>`; `Ok(false)` when it was not there.
pub fn remove(cache_dir: &Path, sha256: &str) -> io::Result<bool> {
    if !is_sha256_hex(sha256) {
        return Ok(false);
    }
    match std::fs::remove_file(cached_path(cache_dir, sha256)) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// Removes temporary files a crash left in the cache, except the partials
/// in `keep` (those of downloads that will resume); returns how many went.
pub fn sweep(cache_dir: &Path, keep: &HashSet<PathBuf>) -> io::Result<usize> {
    atomic_file::sweep_except(cache_dir, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn partials_are_temporary_names_and_sweeps_keep_only_resumable_ones() {
        let dir = tempfile::tempdir().unwrap();
        let resumable = partial_path(dir.path(), SHA);
        let orphan = partial_path(dir.path(), &SHA.replace('a', "b"));
        assert!(atomic_file::is_temp_name(
            &resumable.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&resumable, b"half").unwrap();
        std::fs::write(&orphan, b"half").unwrap();
        std::fs::write(cached_path(dir.path(), SHA), b"whole").unwrap();
        let keep = HashSet::from([resumable.clone()]);
        assert_eq!(sweep(dir.path(), &keep).unwrap(), 1);
        assert!(resumable.exists() && !orphan.exists());
        assert!(is_cached(dir.path(), SHA));
    }

    #[test]
    fn a_scan_tells_complete_images_from_partials_and_when_each_was_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(cached_path(dir.path(), SHA), vec![7u8; 10_000]).unwrap();
        let partial = partial_path(dir.path(), SHA);
        std::fs::write(&partial, vec![7u8; 5_000]).unwrap();
        let found = scan(dir.path());
        assert_eq!(found.images.len(), 1);
        assert_eq!(found.images[0].sha256, SHA);
        assert!(found.images[0].bytes >= 10_000);
        let now_us = chrono::Utc::now().timestamp_micros();
        assert!((now_us - found.images[0].written_us).abs() < 60_000_000);
        assert_eq!(found.partials.get(&partial), Some(&5_000));
        assert!(found.bytes >= 15_000);
    }

    #[tokio::test]
    async fn an_image_being_read_is_not_removed_to_make_room() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_state_dir(dir.path());
        settings.catalog_cache_dir = Some(dir.path().to_owned());
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let node = crate::node::Node::new(&settings, 0, false);
        let core = Core::new(settings, db, node, crate::live::Live::default()).unwrap();
        let cache = Cache::new(core);
        std::fs::write(cache.path_of(SHA), vec![1u8; 4096]).unwrap();
        let keys = vec![ReadKey::Content(SHA.into())];
        let reading = cache.readers().open(ReadKey::Content(SHA.into()));
        assert_eq!(cache.remove_unread(SHA, keys.clone()).await.unwrap(), None);
        assert!(cache.holds(SHA));
        drop(reading);
        assert_eq!(
            cache.remove_unread(SHA, keys.clone()).await.unwrap(),
            Some(4096)
        );
        assert!(!cache.holds(SHA));
        assert_eq!(cache.remove_unread(SHA, keys).await.unwrap(), None, "gone");
    }

    #[test]
    fn usage_counts_cached_images_and_allocated_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(cached_path(dir.path(), SHA), vec![7u8; 10_000]).unwrap();
        std::fs::write(partial_path(dir.path(), SHA), vec![7u8; 5_000]).unwrap();
        let found = usage(dir.path());
        assert_eq!(found.files, 1);
        assert!(found.bytes >= 15_000, "{found:?}");
        assert!(found.total_bytes.unwrap() >= found.free_bytes.unwrap());
        let missing = usage(&dir.path().join("missing"));
        assert_eq!((missing.files, missing.bytes), (0, 0));
        assert!(remove(dir.path(), SHA).unwrap());
        assert!(!remove(dir.path(), SHA).unwrap());
        assert!(!is_cached(dir.path(), SHA));
    }
}
