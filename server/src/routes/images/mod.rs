//! `/images`: the open listing flash clients read, the open byte routes,
//! and the authenticated upload (reference §§1.2–1.4).

pub(crate) mod links;
mod listing;
mod serve;
mod stream_through;
mod upload;

use axum::extract::DefaultBodyLimit;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, put) = routes!(upload::put_image);
    // Uploads stream to disk; BTY_MAX_UPLOAD_BYTES is their cap.
    let put = put.layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(listing::list_images))
        .routes(routes!(serve::get_image))
        .routes((schemas, paths, put))
        .routes(routes!(serve::get_image_named))
}
