//! `GET /images`: the JSON listing flash clients read.

use axum::http::StatusCode;

pub async fn list_images() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
