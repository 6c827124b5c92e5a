//! `PUT /images/{name}` (reference section 1.2): the body streams to a
//! unique temporary file in the image root while SHA-256 is computed, and
//! is renamed into place only when complete. When the 200 answers, the
//! file, its sidecar and its catalog row with the digest all exist.

use std::path::{Path as FsPath, PathBuf};

use app::model::{JobKind, UploadResult};
use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use futures::StreamExt;
use serde_json::json;

use crate::{
    audit::Actor,
    auth::{ClientIp, Operator},
    catalog::{events, format::detect_format, names, sidecar, stamp::FileStamp},
    error::ErrorBody,
    ingest::{Ingest, Staged},
    openapi::Binary,
    state::AppState,
    workers::jobs,
};

/// Why an upload failed, with the status the client gets.
struct Failure {
    status: StatusCode,
    detail: String,
}

impl Failure {
    fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Failure {
            status,
            detail: detail.into(),
        }
    }
}

/// Logs `image.upload_failed` if the request ends without an outcome: the
/// client went away and the server dropped the handler mid-body (D16).
struct FailureWatch {
    state: AppState,
    actor: Actor,
    name: String,
    armed: bool,
}

impl Drop for FailureWatch {
    fn drop(&mut self) {
        if self.armed {
            let (state, actor, name) = (self.state.clone(), self.actor.clone(), self.name.clone());
            tokio::spawn(async move {
                let failure = Failure::new(
                    StatusCode::BAD_REQUEST,
                    "the client went away before the upload completed",
                );
                record_failure(&state, &actor, &name, &failure).await;
            });
        }
    }
}

/// Streams the body into the image root under `name`, hashing it on the way.
#[utoipa::path(
    put,
    path = "/images/{name}",
    tag = "images",
    params(("name" = String, Path, description = "The file name in the image root: one path segment")),
    request_body(content = Binary, content_type = "application/octet-stream",
        description = "The raw bytes (any content type), at most BTY_MAX_UPLOAD_BYTES"),
    responses(
        (status = 200, description = "Stored and hashed", body = UploadResult),
        (status = 400, description = "A bad name, or the body was cut off", body = ErrorBody),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 405, description = "The name holds an encoded `/`"),
        (status = 413, description = "Over BTY_MAX_UPLOAD_BYTES", body = ErrorBody),
        (status = 507, description = "The image root's disk is full", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
pub async fn put_image(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let actor = Actor::operator(&operator, source_ip);
    let who = operator.username;
    let mut watch = FailureWatch {
        state: state.clone(),
        actor: actor.clone(),
        name: name.clone(),
        armed: true,
    };
    if name.contains('/') {
        // An encoded slash makes two path segments for the reference's
        // router, which only answers GET and HEAD there.
        watch.armed = false;
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let outcome = receive(&state, &name, &headers, body).await;
    watch.armed = false;
    match outcome {
        Ok((path, staged)) => match commit(&state, &actor, &who, &name, &path, staged).await {
            Ok(result) => Json(result).into_response(),
            Err(failure) => fail(&state, &actor, &name, failure).await,
        },
        Err(failure) => fail(&state, &actor, &name, failure).await,
    }
}

/// Checks the request and streams its body to a staged temporary file.
async fn receive(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(PathBuf, Staged), Failure> {
    let root = state.settings.image_root();
    let bad_name = || Failure::new(StatusCode::BAD_REQUEST, "bad name");
    let path = names::resolve_in_root(&root, name).map_err(|_| bad_name())?;
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
        return Err(bad_name());
    }
    let cap = state.settings.max_upload_bytes;
    let too_big = |at: u64| {
        Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("upload exceeded {cap} bytes (BTY_MAX_UPLOAD_BYTES). Aborted at {at} bytes."),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > cap) {
        // Refused before a byte is read.
        return Err(too_big(0));
    }
    std::fs::create_dir_all(&root).map_err(|e| io_failure(&e))?;
    let mut ingest = Ingest::start(&path).await.map_err(|e| io_failure(&e))?;
    if let Err(failure) = stream_into(&mut ingest, body, cap, too_big).await {
        ingest.abort().await;
        return Err(failure);
    }
    let staged = ingest.finish().await.map_err(|e| io_failure(&e))?;
    Ok((path, staged))
}

/// Feeds the body to the ingest, within the cap.
async fn stream_into(
    ingest: &mut Ingest,
    body: Body,
    cap: u64,
    too_big: impl Fn(u64) -> Failure,
) -> Result<(), Failure> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "the upload was cut off after {} bytes: {error}",
                    ingest.bytes()
                ),
            )
        })?;
        if ingest.bytes() + chunk.len() as u64 > cap {
            return Err(too_big(ingest.bytes() + chunk.len() as u64));
        }
        ingest.write(chunk).await.map_err(|e| io_failure(&e))?;
    }
    Ok(())
}

/// Renames the staged file into place and records it: sidecar, catalog row
/// and a completed hash job, all while the image root is held, so the
/// row's digest is always that of the file now under the name (D1, D2).
async fn commit(
    state: &AppState,
    actor: &Actor,
    operator: &str,
    name: &str,
    path: &FsPath,
    staged: Staged,
) -> Result<UploadResult, Failure> {
    let sha256 = staged.sha256.clone();
    let size = staged.bytes;
    let is_image = detect_format(name).is_some();
    {
        let _root = state.catalog.lock_image_root().await;
        let destination = path.to_owned();
        let committed = tokio::task::spawn_blocking(move || -> std::io::Result<FileStamp> {
            staged.commit(&destination)?;
            Ok(FileStamp::of(&std::fs::symlink_metadata(&destination)?))
        })
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| io_failure(&e))?;
        if is_image {
            let (sidecar_path, sidecar_sha) = (path.to_owned(), sha256.clone());
            tokio::task::spawn_blocking(move || sidecar::write(&sidecar_path, &sidecar_sha))
                .await
                .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
                .map_err(|e| io_failure(&e))?;
            state
                .catalog
                .record_hashed_file(name, committed, &sha256)
                .await
                .map_err(db_failure)?;
        }
    }
    // The bytes are in place, and were hashed as they streamed in.
    state.metrics.add_uploaded(size);
    state.metrics.add_hashed(size);
    let path_text = path.display().to_string();
    if name.ends_with(".sha256") {
        // A sidecar upload is stored as a file only, as the reference does.
        return Ok(UploadResult {
            name: name.to_owned(),
            size_bytes: size,
            path: path_text,
            sha256,
        });
    }
    events::image_uploaded(&state.core, actor, operator, name, &sha256, size).await;
    if is_image {
        let job = jobs::record_completed(
            &state.db,
            JobKind::Hash,
            name,
            Some(path_text.clone()),
            &sha256,
            size,
        )
        .await
        .map_err(db_failure)?;
        state.live.job(&jobs::to_wire(&job));
        events::image_hashed(&state.core, name, &sha256, size).await;
    }
    Ok(UploadResult {
        name: name.to_owned(),
        size_bytes: size,
        path: path_text,
        sha256,
    })
}

async fn fail(state: &AppState, actor: &Actor, name: &str, failure: Failure) -> Response {
    record_failure(state, actor, name, &failure).await;
    let detail =
        if failure.status.is_server_error() && failure.status != StatusCode::INSUFFICIENT_STORAGE {
            tracing::error!(name, error = failure.detail, "upload failed");
            "the upload could not be stored; see the server log".to_owned()
        } else {
            failure.detail
        };
    (failure.status, Json(json!({ "detail": detail }))).into_response()
}

async fn record_failure(state: &AppState, actor: &Actor, name: &str, failure: &Failure) {
    let status = failure.status.as_u16();
    events::image_upload_failed(&state.core, actor, name, status, &failure.detail).await;
}

/// A full disk is the operator's to fix, so it is named (507); other I/O
/// errors are logged and answered with a plain 500.
fn io_failure(error: &std::io::Error) -> Failure {
    if error.kind() == std::io::ErrorKind::StorageFull {
        return Failure::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "no space left on the image root's disk",
        );
    }
    Failure::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

fn db_failure(error: sea_orm::DbErr) -> Failure {
    Failure::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}
