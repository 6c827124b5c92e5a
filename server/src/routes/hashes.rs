//! The hash API (reference §1.14): list, queue and cancel hash jobs.

use app::model::{EnqueueRequest, HashList, HashState, Job, JobKind};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit::Actor,
    auth::{ClientIp, Operator},
    catalog::names::NameError,
    error::{ApiError, AppJson, ErrorBody},
    state::AppState,
    workers::{hashes::HashError, jobs},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_hashes, enqueue_hash))
        .routes(routes!(cancel_hash))
}

/// The latest hash job of every name.
#[utoipa::path(
    get,
    path = "/catalog/hashes",
    tag = "jobs",
    responses(
        (status = 200, description = "The hash jobs", body = HashList),
        (status = 401, description = "Login required", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn list_hashes(
    _operator: Operator,
    State(state): State<AppState>,
) -> Result<Json<HashList>, ApiError> {
    let root = state.settings.image_root();
    let hashes = jobs::latest_per_name(&state.db, Some(JobKind::Hash))
        .await?
        .iter()
        .map(|row| hash_state(&state, &jobs::to_wire(row)))
        .collect();
    Ok(Json(HashList {
        image_root: root.display().to_string(),
        max_parallel: state.settings.hash_max_parallel,
        hashes,
    }))
}

/// Queues a hash of a file in the image root.
#[utoipa::path(
    post,
    path = "/catalog/hashes",
    tag = "jobs",
    request_body = EnqueueRequest,
    responses(
        (status = 202, description = "Queued (or already queued or running)", body = HashState),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
        (status = 422, description = "Not one path segment, or not an image", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn enqueue_hash(
    _operator: Operator,
    State(state): State<AppState>,
    AppJson(request): AppJson<EnqueueRequest>,
) -> Result<(StatusCode, Json<HashState>), ApiError> {
    let job = state
        .hashes
        .enqueue(&request.name)
        .await
        .map_err(|error| hash_error(error, &request.name))?;
    Ok((StatusCode::ACCEPTED, Json(hash_state(&state, &job))))
}

/// Cancels the hash job of a name.
#[utoipa::path(
    delete,
    path = "/catalog/hashes/{name}",
    tag = "jobs",
    params(("name" = String, Path, description = "The file name")),
    responses(
        (status = 200, description = "The job, cancelled", body = HashState),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 404, description = "No job for this name", body = ErrorBody),
        (status = 422, description = "Not one path segment", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn cancel_hash(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<HashState>, ApiError> {
    let job = state
        .hashes
        .cancel(&name, Actor::operator(&operator, source_ip))
        .await
        .map_err(|error| hash_error(error, &name))?;
    Ok(Json(hash_state(&state, &job)))
}

/// The reference's `HashState` for a job.
fn hash_state(state: &AppState, job: &Job) -> HashState {
    HashState {
        name: job.name.clone(),
        path: state
            .settings
            .image_root()
            .join(&job.name)
            .display()
            .to_string(),
        status: job.status,
        bytes_hashed: job.bytes_done,
        bytes_total: job.bytes_total,
        sha256: job.sha256.clone(),
        started_at: job.started_at,
        finished_at: job.finished_at,
        error: job.error.clone(),
    }
}

fn hash_error(error: HashError, name: &str) -> ApiError {
    match error {
        // `.` and `..` are a 422, not the reference's 500 (defect D4).
        HashError::BadName(reason) => name_error(reason, name),
        HashError::Unsupported(_) => {
            ApiError::invalid_field(&["body", "name"], &error.to_string(), name)
        }
        HashError::NoFile(_) | HashError::NoJob(_) => ApiError::NotFound(error.to_string()),
        HashError::Db(db) => db.into(),
    }
}

fn name_error(reason: NameError, name: &str) -> ApiError {
    ApiError::invalid_field(&["body", "name"], &reason.to_string(), name)
}
