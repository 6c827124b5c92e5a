//! The freshness rule: a local row's digest describes the file only while
//! the file has the size and modification time the digest was computed
//! for (D2). The reconciler, the hash worker and the byte
//! routes all ask it here.

use std::{fs::Metadata, io, path::Path};

use crate::{clock, db::entity::catalog_entry};

/// A file's size and modification time, as a digest was computed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStamp {
    pub size: i64,
    pub mtime_ns: i64,
}

impl FileStamp {
    pub fn of(metadata: &Metadata) -> Self {
        FileStamp {
            size: i64::try_from(metadata.len()).unwrap_or(i64::MAX),
            mtime_ns: clock::mtime_ns(metadata),
        }
    }

    /// The stamp of the regular file at `path` (a symlink is not one);
    /// `Ok(None)` for anything else there.
    pub fn read(path: &Path) -> io::Result<Option<Self>> {
        let metadata = std::fs::symlink_metadata(path)?;
        Ok(metadata.is_file().then(|| FileStamp::of(&metadata)))
    }

    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        u64::try_from(self.size).unwrap_or_default()
    }

    /// True when `row`'s digest was computed for the file as it is now.
    pub fn matches_digest_of(self, row: &catalog_entry::Model) -> bool {
        row.hashed_size == Some(self.size) && row.hashed_mtime_ns == Some(self.mtime_ns)
    }

    /// `row`'s digest, if it still describes the file.
    pub fn fresh_digest(self, row: &catalog_entry::Model) -> Option<&str> {
        row.disk_image_sha
            .as_deref()
            .filter(|_| self.matches_digest_of(row))
    }
}
