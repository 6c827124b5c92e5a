//! `PUT /images/{name}`: streaming upload into the image root.

use axum::http::StatusCode;

pub async fn put_image() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
