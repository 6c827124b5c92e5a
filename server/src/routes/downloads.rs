//! The download API (reference section 1.12, with the D3, D4 and D6
//! fixes): list, queue (fetch or update) and cancel downloads of catalog
//! entries.

use app::model::{DownloadList, DownloadRequest, DownloadState};
use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    routing::{delete, get},
    Json, Router,
};

use crate::{
    audit::Actor,
    auth::{ClientIp, Operator},
    cache,
    error::ApiError,
    routes::hashes::json_rejection,
    state::AppState,
    workers::{
        downloads::{self, DownloadError},
        jobs,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/catalog/downloads",
            get(list_downloads).post(enqueue_download),
        )
        .route("/catalog/downloads/{name}", delete(cancel_download))
}

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
        cache: cache::usage_now(&cache_dir).await,
    }))
}

async fn enqueue_download(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    body: Result<Json<DownloadRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<DownloadState>), ApiError> {
    let Json(request) = body.map_err(json_rejection)?;
    let actor = Actor::operator(&operator, source_ip);
    let row = state
        .downloads
        .enqueue(&state, &request.name, request.update, &actor)
        .await
        .map_err(|error| download_error(error, &request.name))?;
    Ok((StatusCode::ACCEPTED, Json(downloads::to_state(&row))))
}

async fn cancel_download(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<DownloadState>, ApiError> {
    let row = state
        .downloads
        .cancel(&state, &name, Actor::operator(&operator, source_ip))
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
