//! Keeping an upload: the staged file, hashed while it streamed in, is
//! renamed into the image root, its sidecar written and its `local` row
//! recorded through the catalog service, all while the image root is held,
//! so the row's digest is always that of the file now under the name (D1,
//! D2); then the bytes are counted, a completed hash job and the events
//! are logged, and the image's inspection is queued. When [`commit`]
//! returns, all of it exists. The route only receives the body and answers.

use std::path::Path;

use app::model::{JobKind, UploadResult};
use sea_orm::DbErr;

use crate::{
    audit::Actor,
    catalog::{events, format::detect_format, sidecar, stamp::FileStamp, Catalog},
    ingest::Staged,
    plumbing::Core,
    workers::{hashes::HashWorkers, jobs},
};

/// Why a staged upload was not kept.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbErr),
    /// A blocking step did not finish.
    #[error("{0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Who uploaded: the event's actor and the operator's name.
pub struct Uploader<'a> {
    pub actor: &'a Actor,
    pub operator: &'a str,
}

/// Renames `staged` to `path` (the image-root file `name`) and records it.
pub async fn commit(
    core: &Core,
    catalog: &Catalog,
    hashes: &HashWorkers,
    uploader: Uploader<'_>,
    name: &str,
    path: &Path,
    staged: Staged,
) -> Result<UploadResult, CommitError> {
    let sha256 = staged.sha256.clone();
    let size = staged.bytes;
    let is_image = detect_format(name).is_some();
    {
        let _root = catalog.lock_image_root().await;
        let destination = path.to_owned();
        let stamp = tokio::task::spawn_blocking(move || -> std::io::Result<FileStamp> {
            staged.commit(&destination)?;
            Ok(FileStamp::of(&std::fs::symlink_metadata(&destination)?))
        })
        .await??;
        if is_image {
            let (sidecar_path, sidecar_sha) = (path.to_owned(), sha256.clone());
            tokio::task::spawn_blocking(move || sidecar::write(&sidecar_path, &sidecar_sha))
                .await??;
            catalog.record_hashed_file(name, stamp, &sha256).await?;
        }
    }
    // The bytes are in place, and were hashed as they streamed in.
    core.metrics.add_uploaded(size);
    core.metrics.add_hashed(size);
    let result = UploadResult {
        name: name.to_owned(),
        size_bytes: size,
        path: path.display().to_string(),
        sha256,
    };
    if name.ends_with(".sha256") {
        // A sidecar upload is stored as a file only, as the reference does.
        return Ok(result);
    }
    let Uploader { actor, operator } = uploader;
    events::image_uploaded(core, actor, operator, name, &result.sha256, size).await;
    if is_image {
        let job = jobs::record_completed(
            &core.db,
            JobKind::Hash,
            name,
            Some(result.path.clone()),
            &result.sha256,
            size,
        )
        .await?;
        core.live.job(&jobs::to_wire(&job));
        events::image_hashed(core, name, &result.sha256, size).await;
        // A re-upload inspects again, whatever the old bytes were found.
        hashes.inspect(name, path, &result.sha256, size).await?;
    }
    Ok(result)
}
