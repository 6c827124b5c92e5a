//! `GET /healthz` and `GET /version`: open, for load balancers and humans.

use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(get_health))
        .route("/version", get(get_version))
}

/// 200 when the database answers, 503 otherwise.
async fn get_health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "detail": "database unreachable"})),
            )
        }
    }
}

async fn get_version() -> Json<Value> {
    Json(json!({"name": "bty-web", "version": env!("CARGO_PKG_VERSION")}))
}
