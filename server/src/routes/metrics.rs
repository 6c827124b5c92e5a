//! `GET /metrics`: the Prometheus scrape target, for operators (session or
//! bearer token), like the JSON API.

use app::model::{JobKind, JobStatus};
use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    EntityTrait, QuerySelect,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Operator,
    db::entity::job,
    error::{ApiError, ErrorBody},
    metrics::{Metrics, CONTENT_TYPE, UNMATCHED_ROUTE},
    openapi::openapi_path,
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
    let cache = state.cache.usage().await;
    let text = state.metrics.render(&jobs, &cache);
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text))
}

/// Counts every answered request by its matched route template.
pub async fn count_requests(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| openapi_path(path.as_str()));
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.count_request(
        route.as_deref().unwrap_or(UNMATCHED_ROUTE),
        &method,
        response.status().as_u16(),
    );
    response
}

/// Jobs per kind and state, counted by the database.
async fn job_counts(state: &AppState) -> Result<Vec<(JobKind, JobStatus, u64)>, ApiError> {
    let rows: Vec<(JobKind, JobStatus, i64)> = job::Entity::find()
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
        .map(|(kind, status, count)| (kind, status, u64::try_from(count).unwrap_or(0)))
        .collect())
}
