//! The one lookup by key. A key a client or an operator gives is a file
//! name in the image root, an entry's name, a `bty_image_ref` or a content
//! SHA-256; [`Lookup`] finds what it names, each part read at most once
//! and only when asked. Its users read the findings by slightly different
//! rules, each written here under its own name:
//!
//! - [`Lookup::held_bytes`], the byte routes: a file of that name, else
//!   (64 hex) the bytes of the entry with that ref, a cached copy of that
//!   sha, or the bytes of an entry with that sha;
//! - [`Lookup::remote_by_content`], stream-through: (64 hex) the remote
//!   entry with that ref, else the first remote entry with that sha;
//! - [`Lookup::sha`], cache eviction: the sha of the entry with that ref,
//!   else of the oldest entry of that name that has one;
//! - [`Lookup::download_source`], downloads: the remote entry with that
//!   ref, else the oldest remote entry of that name.

use std::path::PathBuf;

use app::model::SourceKind;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use tokio::sync::OnceCell;

use super::{names, service::Catalog, stamp::FileStamp};
use crate::{
    atomic_file, cache,
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    digest::is_sha256_hex,
};

type Entry = catalog_entry::Model;

/// What one key names; built by [`Catalog::lookup`].
pub struct Lookup<'a> {
    catalog: &'a Catalog,
    key: &'a str,
    by_ref: OnceCell<Option<Entry>>,
    named: OnceCell<Vec<Entry>>,
    with_sha: OnceCell<Vec<Entry>>,
}

/// Bytes held here, on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldBytes {
    pub path: PathBuf,
    /// The content SHA-256, when known and still true of the bytes.
    pub sha256: Option<String>,
    /// The entry's name, which tells the format; `None` for a cached copy
    /// found by its sha alone.
    pub name: Option<String>,
    /// A file in the image root (its name is the download's file name).
    pub local: bool,
}

/// What a download of the key would fetch.
pub enum DownloadSource {
    Remote(Box<Entry>),
    /// Only a file in the image root has that name.
    LocalOnly,
    Missing,
}

fn is_remote(entry: &Entry) -> bool {
    entry.source_kind != SourceKind::Local
}

impl<'a> Lookup<'a> {
    pub(super) fn new(catalog: &'a Catalog, key: &'a str) -> Self {
        Lookup {
            catalog,
            key,
            by_ref: OnceCell::new(),
            named: OnceCell::new(),
            with_sha: OnceCell::new(),
        }
    }

    fn is_hex(&self) -> bool {
        is_sha256_hex(self.key)
    }

    /// The entry whose `bty_image_ref` is the key.
    pub async fn by_ref(&self) -> Result<Option<&Entry>, DbErr> {
        let found = self
            .by_ref
            .get_or_try_init(|| async {
                if !self.is_hex() {
                    return Ok(None);
                }
                CatalogEntries::find_by_id(self.key.to_owned())
                    .one(&self.catalog.core.db)
                    .await
            })
            .await?;
        Ok(found.as_ref())
    }

    /// The entries named the key, oldest first.
    pub async fn named(&self) -> Result<&[Entry], DbErr> {
        let found = self
            .named
            .get_or_try_init(|| {
                CatalogEntries::find()
                    .filter(catalog_entry::Column::Name.eq(self.key))
                    .order_by_asc(catalog_entry::Column::AddedAt)
                    .all(&self.catalog.core.db)
            })
            .await?;
        Ok(found)
    }

    /// The entries whose content SHA-256 is the key.
    pub async fn with_sha(&self) -> Result<&[Entry], DbErr> {
        let found = self
            .with_sha
            .get_or_try_init(|| async {
                if !self.is_hex() {
                    return Ok(Vec::new());
                }
                CatalogEntries::find()
                    .filter(catalog_entry::Column::DiskImageSha.eq(self.key))
                    .all(&self.catalog.core.db)
                    .await
            })
            .await?;
        Ok(found)
    }

    /// The regular file the key names in the image root (never a
    /// temporary file), and its stamp.
    pub fn file(&self) -> Option<(PathBuf, FileStamp)> {
        if names::check_name(self.key).is_err() || atomic_file::is_temp_name(self.key) {
            return None;
        }
        let path =
            names::resolve_in_root(&self.catalog.core.settings.image_root(), self.key).ok()?;
        let stamp = FileStamp::read(&path).ok().flatten()?;
        Some((path, stamp))
    }

    /// The cache's copy of the content the key names by its sha.
    pub fn cached_copy(&self) -> Option<PathBuf> {
        let dir = self.catalog.core.settings.cache_dir();
        cache::is_cached(&dir, self.key).then(|| cache::cached_path(&dir, self.key))
    }

    /// The byte routes' rule: a file of that name in the image root, else
    /// (64 hex) the bytes of the entry with that ref, a cached copy of that
    /// sha, or the bytes of the first entry with that sha that are held.
    pub async fn held_bytes(&self) -> Result<Option<HeldBytes>, DbErr> {
        if let Some((path, stamp)) = self.file() {
            let row = self.catalog.local_entry(self.key).await?;
            return Ok(Some(HeldBytes {
                path,
                sha256: row.and_then(|row| stamp.fresh_digest(&row).map(str::to_owned)),
                name: Some(self.key.to_owned()),
                local: true,
            }));
        }
        if !self.is_hex() {
            return Ok(None);
        }
        if let Some(held) = self.by_ref().await?.and_then(|row| self.bytes_of(row)) {
            return Ok(Some(held));
        }
        if let Some(path) = self.cached_copy() {
            return Ok(Some(HeldBytes {
                path,
                sha256: Some(self.key.to_owned()),
                name: None,
                local: false,
            }));
        }
        Ok(self
            .with_sha()
            .await?
            .iter()
            .find_map(|row| self.bytes_of(row)))
    }

    /// The bytes an entry stands for, if they are held here: its cached
    /// copy, or the file of a `local` entry while its digest (if any) is
    /// still true of the file.
    fn bytes_of(&self, row: &Entry) -> Option<HeldBytes> {
        let settings = &self.catalog.core.settings;
        if let Some(sha) = &row.disk_image_sha {
            let dir = settings.cache_dir();
            if cache::is_cached(&dir, sha) {
                return Some(HeldBytes {
                    path: cache::cached_path(&dir, sha),
                    sha256: Some(sha.clone()),
                    name: Some(row.name.clone()),
                    local: false,
                });
            }
        }
        if is_remote(row) {
            return None;
        }
        let path = names::resolve_in_root(&settings.image_root(), &row.name).ok()?;
        let stamp = FileStamp::read(&path).ok().flatten()?;
        let sha256 = stamp.fresh_digest(row).map(str::to_owned);
        // Found by its digest: only while the digest is still true of the file.
        if row.disk_image_sha.is_some() && sha256 != row.disk_image_sha {
            return None;
        }
        Some(HeldBytes {
            path,
            sha256,
            name: Some(row.name.clone()),
            local: true,
        })
    }

    /// Stream-through's rule: (64 hex) the remote entry with that ref,
    /// else the first remote entry with that sha.
    pub async fn remote_by_content(&self) -> Result<Option<Entry>, DbErr> {
        if !self.is_hex() {
            return Ok(None);
        }
        if let Some(row) = self.by_ref().await?.filter(|row| is_remote(row)) {
            return Ok(Some(row.clone()));
        }
        Ok(self
            .with_sha()
            .await?
            .iter()
            .find(|row| is_remote(row))
            .cloned())
    }

    /// Eviction's rule: the sha of the entry with that ref (64 hex), else
    /// of the oldest entry of that name that has one.
    pub async fn sha(&self) -> Result<Option<String>, DbErr> {
        if let Some(row) = self.by_ref().await? {
            return Ok(row.disk_image_sha.clone());
        }
        Ok(self
            .named()
            .await?
            .iter()
            .find_map(|row| row.disk_image_sha.clone()))
    }

    /// The downloads' rule: the remote entry with that ref (64 hex), else
    /// the oldest remote entry of that name; or why there is none.
    pub async fn download_source(&self) -> Result<DownloadSource, DbErr> {
        if let Some(row) = self.by_ref().await?.filter(|row| is_remote(row)) {
            return Ok(DownloadSource::Remote(Box::new(row.clone())));
        }
        let named = self.named().await?;
        match named.iter().find(|row| is_remote(row)) {
            Some(row) => Ok(DownloadSource::Remote(Box::new(row.clone()))),
            None if !named.is_empty() => Ok(DownloadSource::LocalOnly),
            None => Ok(DownloadSource::Missing),
        }
    }
}
