//! `PUT /images/{name}` (reference §1.2): the body streams to a
//! unique temporary file in the image root while SHA-256 is computed, and
//! is renamed into place only when complete ([`crate::uploads::commit`]).
//! When the 200 answers, the file, its sidecar and its catalog row with
//! the digest all exist. Every failure is an [`ApiError`], logged as
//! `image.upload_failed` with the status the client got.

use std::path::PathBuf;

use app::model::UploadResult;
use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use futures::StreamExt;

use crate::{
    audit::Actor,
    auth::{ClientIp, Operator},
    catalog::{events, names},
    error::{ApiError, ErrorBody},
    ingest::{Ingest, Staged},
    openapi::Binary,
    state::AppState,
    uploads::{self, CommitError, Uploader},
};

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
                let failure =
                    ApiError::BadRequest("the client went away before the upload completed".into());
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
    let committed = match outcome {
        Ok((path, staged)) => {
            let uploader = Uploader {
                actor: &actor,
                operator: &who,
            };
            uploads::commit(
                &state.core,
                &state.catalog,
                &state.hashes,
                uploader,
                &name,
                &path,
                staged,
            )
            .await
            .map_err(commit_failure)
        }
        Err(failure) => Err(failure),
    };
    match committed {
        Ok(result) => Json(result).into_response(),
        Err(failure) => {
            record_failure(&state, &actor, &name, &failure).await;
            failure.into_response()
        }
    }
}

/// Checks the request and streams its body to a staged temporary file.
async fn receive(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(PathBuf, Staged), ApiError> {
    let root = state.settings.image_root();
    let bad_name = || ApiError::BadRequest("bad name".into());
    let path = names::resolve_in_root(&root, name).map_err(|_| bad_name())?;
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
        return Err(bad_name());
    }
    let cap = state.settings.max_upload_bytes;
    let too_big = |at: u64| {
        ApiError::PayloadTooLarge(format!(
            "upload exceeded {cap} bytes (BTY_MAX_UPLOAD_BYTES). Aborted at {at} bytes."
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > cap) {
        // Refused before a byte is read.
        return Err(too_big(0));
    }
    std::fs::create_dir_all(&root).map_err(io_failure)?;
    let mut ingest = Ingest::start(&path).await.map_err(io_failure)?;
    if let Err(failure) = stream_into(&mut ingest, body, cap, too_big).await {
        ingest.abort().await;
        return Err(failure);
    }
    let staged = ingest.finish().await.map_err(io_failure)?;
    Ok((path, staged))
}

/// Feeds the body to the ingest, within the cap.
async fn stream_into(
    ingest: &mut Ingest,
    body: Body,
    cap: u64,
    too_big: impl Fn(u64) -> ApiError,
) -> Result<(), ApiError> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::BadRequest(format!(
                "the upload was cut off after {} bytes: {error}",
                ingest.bytes()
            ))
        })?;
        if ingest.bytes() + chunk.len() as u64 > cap {
            return Err(too_big(ingest.bytes() + chunk.len() as u64));
        }
        ingest.write(chunk).await.map_err(io_failure)?;
    }
    Ok(())
}

async fn record_failure(state: &AppState, actor: &Actor, name: &str, failure: &ApiError) {
    let status = failure.status().as_u16();
    let detail = failure.to_string();
    events::image_upload_failed(&state.core, actor, name, status, &detail).await;
}

/// A full disk is the operator's to fix, so it is named (507); other I/O
/// errors are logged and answered with a plain 500.
fn io_failure(error: std::io::Error) -> ApiError {
    if error.kind() == std::io::ErrorKind::StorageFull {
        return ApiError::InsufficientStorage("no space left on the image root's disk".into());
    }
    not_stored(error.into())
}

fn commit_failure(error: CommitError) -> ApiError {
    match error {
        CommitError::Io(error) => io_failure(error),
        CommitError::Db(error) => not_stored(error.into()),
        CommitError::Task(error) => not_stored(error.into()),
    }
}

/// A 500 that tells the client its upload is not stored.
fn not_stored(cause: anyhow::Error) -> ApiError {
    ApiError::Failed {
        message: "the upload could not be stored; see the server log",
        cause,
    }
}
