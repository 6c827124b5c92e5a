//! `GET /catalog.toml`: the portable catalog.

use axum::{http::StatusCode, routing::get, Router};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/catalog.toml", get(get_catalog_toml))
}

async fn get_catalog_toml() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
