//! The hash API (reference section 1.14): list, queue and cancel hash jobs.

use app::model::{EnqueueRequest, HashList, HashState, Job, JobKind};
use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    routing::{delete, get},
    Json, Router,
};

use crate::{
    audit::Actor,
    auth::{ClientIp, Operator},
    catalog::names::NameError,
    error::ApiError,
    state::AppState,
    workers::{hashes::HashError, jobs},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/catalog/hashes", get(list_hashes).post(enqueue_hash))
        .route("/catalog/hashes/{name}", delete(cancel_hash))
}

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

async fn enqueue_hash(
    _operator: Operator,
    State(state): State<AppState>,
    body: Result<Json<EnqueueRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<HashState>), ApiError> {
    let Json(request) = body.map_err(json_rejection)?;
    let job = state
        .hashes
        .enqueue(&state, &request.name)
        .await
        .map_err(|error| hash_error(error, &request.name))?;
    Ok((StatusCode::ACCEPTED, Json(hash_state(&state, &job))))
}

async fn cancel_hash(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<HashState>, ApiError> {
    let job = state
        .hashes
        .cancel(&state, &name, Actor::operator(&operator, source_ip))
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

/// A body that is not `{"name": "<one path segment>"}` is a 422 that says why.
pub fn json_rejection(rejection: JsonRejection) -> ApiError {
    ApiError::invalid_field(&["body"], &rejection.body_text(), serde_json::Value::Null)
}
