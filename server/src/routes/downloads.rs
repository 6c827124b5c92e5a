//! The download API (reference §1.12, with the D3, D4 and D6
//! fixes): list, queue (fetch or update) and cancel downloads of catalog
//! entries.

use app::model::{DownloadList, DownloadRequest, DownloadState};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit::Actor,
    auth::{ClientIp, Operator},
    error::{ApiError, AppJson, ErrorBody},
    state::AppState,
    workers::{
        downloads::{self, DownloadError},
        jobs,
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_downloads, enqueue_download))
        .routes(routes!(cancel_download))
}

/// The latest download of every remote entry, oldest first, and the cache's
/// disk usage.
#[utoipa::path(
    get,
    path = "/catalog/downloads",
    tag = "jobs",
    responses(
        (status = 200, description = "The downloads and the cache", body = DownloadList),
        (status = 401, description = "Login required", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn list_downloads(
    _operator: Operator,
    State(state): State<AppState>,
) -> Result<Json<DownloadList>, ApiError> {
    let catalog_file = state.settings.catalog_file();
    let cache_dir = state.settings.cache_dir();
    let downloads = jobs::latest_downloads(&state.db)
        .await?
        .iter()
        .map(downloads::to_state)
        .collect();
    Ok(Json(DownloadList {
        manifest: catalog_file
            .is_file()
            .then(|| catalog_file.display().to_string()),
        cache_dir: cache_dir.display().to_string(),
        max_parallel: state.settings.catalog_max_parallel,
        downloads,
        cache: state.cache.usage().await,
    }))
}

/// Queues a download of a remote entry (by name or ref) into the cache, or
/// with `update` re-resolves a rolling entry and downloads it again.
#[utoipa::path(
    post,
    path = "/catalog/downloads",
    tag = "jobs",
    request_body = DownloadRequest,
    responses(
        (status = 202, description = "Queued (or already queued, running, or cached)", body = DownloadState),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 404, description = "No remote catalog entry of that name or ref", body = ErrorBody),
        (status = 409, description = "Only a local file has that name, or `update` of a pinned entry", body = ErrorBody),
        (status = 422, description = "Not one path segment, or an unknown field", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn enqueue_download(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    AppJson(request): AppJson<DownloadRequest>,
) -> Result<(StatusCode, Json<DownloadState>), ApiError> {
    let actor = Actor::operator(&operator, source_ip);
    let row = state
        .downloads
        .enqueue(&request.name, request.update, &actor)
        .await
        .map_err(|error| download_error(error, &request.name))?;
    Ok((StatusCode::ACCEPTED, Json(downloads::to_state(&row))))
}

/// Cancels the newest download of an entry: a queued one at once, a running
/// one within a chunk; a finished one is returned unchanged.
#[utoipa::path(
    delete,
    path = "/catalog/downloads/{name}",
    tag = "jobs",
    params(("name" = String, Path, description = "Entry name or ref")),
    responses(
        (status = 200, description = "The download's state", body = DownloadState),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 404, description = "No download of that name", body = ErrorBody),
        (status = 422, description = "Not one path segment", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn cancel_download(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<DownloadState>, ApiError> {
    let row = state
        .downloads
        .cancel(&name, Actor::operator(&operator, source_ip))
        .await
        .map_err(|error| download_error(error, &name))?;
    Ok(Json(downloads::to_state(&row)))
}

fn download_error(error: DownloadError, name: &str) -> ApiError {
    match error {
        // `.` and `..` are a 422, not the reference's 500 (defect D4).
        DownloadError::BadName(reason) => {
            ApiError::invalid_field(&["body", "name"], &reason.to_string(), name)
        }
        DownloadError::NoEntry(_) | DownloadError::NoJob(_) => {
            ApiError::NotFound(error.to_string())
        }
        DownloadError::LocalOnly(_) | DownloadError::Pinned { .. } => {
            ApiError::Conflict(error.to_string())
        }
        DownloadError::Db(db) => db.into(),
    }
}
