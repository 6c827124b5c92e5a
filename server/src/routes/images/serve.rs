//! `GET|HEAD /images/{key}[/{name}]`: open byte serving.

use axum::http::StatusCode;

pub async fn get_image() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}

pub async fn get_image_named() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
