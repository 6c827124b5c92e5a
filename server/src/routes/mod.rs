//! The HTTP surface: one module per resource, each with its own `router()`,
//! merged here behind the authentication middleware.

pub mod cache;
pub mod catalog;
pub mod catalog_toml;
pub mod catalog_view;
pub mod downloads;
pub mod entries;
pub mod events;
pub mod hashes;
pub mod health;
pub mod images;
pub mod live;
pub mod ui;

use axum::{middleware, response::Redirect, routing::get, Router};

use crate::{auth, state::AppState};

/// The whole application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/images") }))
        .merge(health::router())
        .merge(images::router())
        .merge(catalog_toml::router())
        .merge(catalog::router())
        .merge(catalog_view::router())
        .merge(entries::router())
        .merge(hashes::router())
        .merge(downloads::router())
        .merge(cache::router())
        .merge(events::router())
        .merge(live::router())
        .merge(ui::router(&state))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state)
}
