//! `/images`: the open listing flash clients read, the open byte routes,
//! and the authenticated upload (reference sections 1.2–1.4).

pub(crate) mod links;
mod listing;
mod serve;
mod stream_through;
mod upload;

use axum::{extract::DefaultBodyLimit, routing::get, Router};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/images", get(listing::list_images))
        .route(
            "/images/{name}",
            get(serve::get_image)
                .head(serve::get_image)
                .put(upload::put_image)
                // Uploads stream to disk; BTY_MAX_UPLOAD_BYTES is their cap.
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/images/{key}/{*name}",
            get(serve::get_image_named).head(serve::get_image_named),
        )
}
