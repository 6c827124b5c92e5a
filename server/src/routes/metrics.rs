//! `GET /metrics`: the Prometheus scrape target, for operators (session or
//! bearer token), like the JSON API.

use app::model::{JobKind, JobStatus};
use axum::{extract::State, http::header, response::IntoResponse};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    EntityTrait, QuerySelect,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Operator,
    cache,
    db::entity::job,
    error::{ApiError, ErrorBody},
    metrics::CONTENT_TYPE,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_metrics))
}

/// The metrics in the OpenMetrics text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses(
        (status = 200, description = "Requests by route, method and status; jobs by kind and \
            state; bytes uploaded, downloaded and hashed; the cache's bytes, files and free space",
            content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "Login required", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn get_metrics(
    _operator: Operator,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let jobs = job_counts(&state).await?;
    let cache_dir = state.settings.cache_dir();
    let cache = cache::usage_now(&cache_dir).await;
    let text = state.metrics.render(&jobs, &cache);
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text))
}

/// Jobs per kind and state, counted by the database.
async fn job_counts(state: &AppState) -> Result<Vec<(JobKind, JobStatus, u64)>, ApiError> {
    let rows: Vec<(String, String, i64)> = job::Entity::find()
        .select_only()
        .column(job::Column::Kind)
        .column(job::Column::Status)
        .column_as(Expr::col(job::Column::Id).count(), "count")
        .group_by(job::Column::Kind)
        .group_by(job::Column::Status)
        .into_tuple()
        .all(&state.db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, status, count)| {
            Some((
                JobKind::parse(&kind)?,
                JobStatus::parse(&status)?,
                u64::try_from(count).unwrap_or(0),
            ))
        })
        .collect())
}
