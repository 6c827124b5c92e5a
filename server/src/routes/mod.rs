//! The HTTP surface: one module per resource, each with its own `router()`,
//! merged here behind the authentication middleware. Every module's router
//! is a `utoipa_axum` `OpenApiRouter`, so each route is registered together
//! with its OpenAPI operation (see [`crate::openapi`] to add one). A new
//! module exports `router() -> OpenApiRouter<AppState>`, merged in [`api`].

pub mod authentication;
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
pub mod metrics;
pub mod tokens;
pub mod ui;

use axum::{middleware, response::Redirect, Extension, Router};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{openapi, state::AppState};
use metrics::count_requests;

/// The whole application's routes.
pub fn router(state: AppState) -> Router {
    let (router, document) = api(&state).split_for_parts();
    let document = openapi::document(document);
    router
        .layer(Extension(openapi::OpenApiJson::of(&document)))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            authentication::authenticate,
        ))
        // Outermost: it counts what the client got, the authentication
        // middleware's redirects and refusals too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

/// Every route with its documentation, before the middleware.
fn api(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(go_to_images))
        .routes(routes!(openapi::get_openapi))
        .merge(health::router())
        .merge(metrics::router())
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
        .merge(tokens::router())
        .merge(ui::router(state))
}

/// The site's root is the Images page.
#[utoipa::path(
    get,
    path = "/",
    tag = "pages",
    responses((status = 303, description = "To `/ui/images`", headers(("location" = String))))
)]
async fn go_to_images() -> Redirect {
    Redirect::to("/ui/images")
}
