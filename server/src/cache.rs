//! The content-addressed download cache (`$BTY_STATE_DIR/cache`): complete
//! images named by their SHA-256, and one partial file per entry being
//! downloaded (`.<bty_image_ref>.bty-partial`, a name the byte routes and
//! sweeps treat as temporary, fixed so a restart finds it and resumes).
//! Its real disk usage and free space, eviction, and the start-up sweep of
//! partials no job will resume.

use std::{
    collections::HashSet,
    io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use app::model::CacheUsage;

use crate::{
    atomic_file::{self, TEMP_SUFFIX},
    catalog::identity::is_sha256_hex,
    state::AppState,
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

/// After the cache gained or lost a file, or a sha was learnt: the unified
/// view is rebuilt and open pages get the cache's usage.
pub async fn changed(state: &AppState) {
    state.live.catalog_changed();
    let usage = usage_now(&state.settings.cache_dir()).await;
    state.live.cache(&usage);
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
