//! Reading catalogs. [`load`] reads the source of
//! `POST /catalog/import?source=` (an http(s) URL, an `oras://` reference,
//! or a file inside the state directory or the image root) with a size cap
//! and a timeout and parses it; nothing changes until it has parsed. The
//! operator's upload and the release fetch (`routes/catalog.rs`) read their
//! bytes themselves under [`CATALOG_CAP`], and [`keep_manifest`] keeps
//! what they adopted as the manifest file, replaced atomically.

use std::{path::PathBuf, time::Duration};

use bytes::Bytes;

use super::manifest::{self, Manifest};
use crate::{
    atomic_file,
    oras::{OrasClient, OrasError},
    outbound::{self, FetchError, Refused},
    plumbing::Core,
    settings::Settings,
};

/// An uploaded or fetched release catalog is a few KB; 1 MiB is plenty.
pub const CATALOG_CAP: usize = 1024 * 1024;
/// `POST /catalog/import` of a remote catalog.
pub const IMPORT_CAP: usize = 4 * 1024 * 1024;
/// Catalogs and other metadata must arrive within this.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// Why `POST /catalog/import` could not read its source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("failed to fetch catalog from '{location}': {reason}")]
    Fetch { location: String, reason: String },
    #[error("failed to load catalog from '{location}': {reason}")]
    Load { location: String, reason: String },
    /// The outbound policy refused the catalog's URL (or a redirect).
    #[error("failed to fetch catalog from '{location}': {refused}")]
    Refused { location: String, refused: Refused },
}

/// Reads and parses the catalog `source` names.
pub async fn load(core: &Core, source: &str) -> Result<Manifest, SourceError> {
    let fetch_error = |reason: String| SourceError::Fetch {
        location: source.to_owned(),
        reason,
    };
    let bytes: Bytes = if source.starts_with("http://") || source.starts_with("https://") {
        outbound::get_capped(&core.http, source, IMPORT_CAP, METADATA_TIMEOUT)
            .await
            .map_err(|error| match error {
                FetchError::Refused(refused) => SourceError::Refused {
                    location: source.to_owned(),
                    refused,
                },
                other => fetch_error(other.to_string()),
            })?
    } else if let Some(rest) = source.strip_prefix("oras://") {
        load_oras(core, source, rest).await?
    } else if source.contains("://") && !source.starts_with("file://") {
        return Err(SourceError::Load {
            location: source.to_owned(),
            reason: "unsupported scheme (expected http://, https://, oras://, file:// or a path)"
                .into(),
        });
    } else {
        let path = allowed_local_path(&core.settings, source).ok_or_else(|| SourceError::Load {
            location: source.to_owned(),
            reason: "only files inside the state directory or the image root can be imported"
                .into(),
        })?;
        let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
        match read {
            Ok(Ok(bytes)) if bytes.len() > IMPORT_CAP => {
                return Err(fetch_error(format!("larger than {IMPORT_CAP} bytes")));
            }
            Ok(Ok(bytes)) => Bytes::from(bytes),
            Ok(Err(error)) => return Err(fetch_error(error.to_string())),
            Err(error) => return Err(fetch_error(error.to_string())),
        }
    };
    manifest::parse(&bytes, source).map_err(|e| SourceError::Load {
        location: source.to_owned(),
        reason: e.to_string(),
    })
}

/// A catalog stored as a layer in an OCI registry.
async fn load_oras(core: &Core, source: &str, rest: &str) -> Result<Bytes, SourceError> {
    let reference = crate::oras::OrasRef::parse(rest).map_err(|why| SourceError::Load {
        location: source.to_owned(),
        reason: format!("invalid oras reference: {why}"),
    })?;
    let fetch_error = |error: OrasError| match error {
        OrasError::Refused(refused) => SourceError::Refused {
            location: source.to_owned(),
            refused,
        },
        other => SourceError::Fetch {
            location: source.to_owned(),
            reason: other.to_string(),
        },
    };
    let client = OrasClient::new(&core.settings, core.http.clone());
    let layer = client
        .resolve(&reference, None)
        .await
        .map_err(fetch_error)?;
    client
        .fetch_blob(&layer, IMPORT_CAP)
        .await
        .map_err(fetch_error)
}

/// The local file `source` names (a path or `file://` URL), if it resolves
/// inside the state directory or the image root; nothing else on the
/// server's disk is readable this way.
fn allowed_local_path(settings: &Settings, source: &str) -> Option<PathBuf> {
    let raw = source.strip_prefix("file://").unwrap_or(source);
    let path = std::fs::canonicalize(raw).ok()?;
    let roots = [settings.state_dir.clone(), settings.image_root()];
    roots
        .iter()
        .filter_map(|root| std::fs::canonicalize(root).ok())
        .any(|root| path.starts_with(&root))
        .then_some(path)
}

/// Keeps `bytes` as the manifest file, replacing the old one atomically.
pub async fn keep_manifest(settings: &Settings, bytes: Bytes) -> std::io::Result<()> {
    let path = settings.catalog_file();
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        atomic_file::write_atomic(&path, &bytes)
    })
    .await
    .map_err(std::io::Error::other)?
}
