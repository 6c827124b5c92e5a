//! The content-addressed download cache (`$BTY_STATE_DIR/cache`): complete
//! images named by their SHA-256, and one partial file per entry being
//! downloaded (`.<bty_image_ref>.bty-partial`, a name the byte routes and
//! sweeps treat as temporary, fixed so a restart finds it and resumes).
//! Its real disk usage and free space, eviction (with its audit event),
//! and the start-up sweep of partials no job will resume.

use std::{
    collections::HashSet,
    io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use app::model::CacheUsage;
use serde_json::json;

use crate::{
    atomic_file::{self, TEMP_SUFFIX},
    audit::{self, Actor, NewEvent},
    digest::is_sha256_hex,
    plumbing::Core,
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

/// What the cache's files take on disk (allocated blocks, partials
/// included) and what its file system has left. Blocking.
pub fn usage(cache_dir: &Path) -> CacheUsage {
    let mut usage = CacheUsage {
        cache_dir: cache_dir.display().to_string(),
        ..CacheUsage::default()
    };
    if let Ok(entries) = std::fs::read_dir(cache_dir) {
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if !metadata.is_file() {
                continue;
            }
            usage.bytes += metadata.blocks() * 512;
            if is_sha256_hex(&entry.file_name().to_string_lossy()) {
                usage.files += 1;
            }
        }
    }
    if let Ok(stats) = rustix::fs::statvfs(cache_dir) {
        usage.free_bytes = Some(stats.f_bavail.saturating_mul(stats.f_frsize));
        usage.total_bytes = Some(stats.f_blocks.saturating_mul(stats.f_frsize));
    }
    usage
}

/// [`usage`] off the executor.
pub async fn usage_now(cache_dir: &Path) -> CacheUsage {
    let dir = cache_dir.to_owned();
    match tokio::task::spawn_blocking(move || usage(&dir)).await {
        Ok(usage) => usage,
        Err(_) => CacheUsage {
            cache_dir: cache_dir.display().to_string(),
            ..CacheUsage::default()
        },
    }
}

/// The handle to the cache for the routes and the download workers:
/// where its files are, what it holds, and evicting from it. Every change
/// of its files tells open pages by itself.
#[derive(Clone)]
pub struct Cache {
    core: Core,
}

impl Cache {
    pub fn new(core: Core) -> Self {
        Cache { core }
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

    /// The disk usage now.
    pub async fn usage(&self) -> CacheUsage {
        usage_now(&self.dir()).await
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
