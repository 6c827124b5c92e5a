//! `GET /healthz` and `GET /version`: open, for load balancers and humans.

use axum::{extract::State, http::StatusCode, Json};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// Answered before the authentication middleware looks at the request, so
/// a probe never touches the sessions.
pub const UNAUTHENTICATED: &str = "/healthz";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_health))
        .routes(routes!(get_version))
}

/// `GET /healthz` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// What is unavailable, when something is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'static str>,
    /// The replica that answered (`BTY_NODE_ID`, default host name:port).
    pub node: String,
}

/// `GET /version` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    /// Always `bty-web`.
    pub name: &'static str,
    pub version: &'static str,
}

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database is unreachable", body = Health),
    )
)]
async fn get_health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let node = state.node.id().to_owned();
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                detail: None,
                node,
            }),
        ),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    detail: Some("database unreachable"),
                    node,
                }),
            )
        }
    }
}

/// The server's name and version.
#[utoipa::path(
    get,
    path = "/version",
    tag = "service",
    responses((status = 200, description = "Name and version", body = Version))
)]
async fn get_version() -> Json<Version> {
    Json(Version {
        name: "bty-web",
        version: env!("CARGO_PKG_VERSION"),
    })
}
