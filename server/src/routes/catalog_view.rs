//! `GET /catalog/view?q=&page=`: one page of the unified catalog, filtered
//! by name, SHA-256 prefix, source or format. The Images page reads it to
//! stay small and live with catalogs of thousands of entries.

use std::collections::HashMap;

use app::model::CatalogPage;
use axum::{
    extract::{Query, State},
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Operator,
    error::{ApiError, ErrorBody},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_catalog_view))
}

/// One page of the unified catalog.
#[utoipa::path(
    get,
    path = "/catalog/view",
    tag = "catalog",
    params(
        ("q" = Option<String>, Query, description = "Filter: name, SHA-256 prefix, source or format"),
        ("page" = Option<usize>, Query, description = "1-based; clamped to the last page"),
    ),
    responses(
        (status = 200, description = "The page", body = CatalogPage),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 422, description = "`page` is not an integer", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn get_catalog_view(
    _operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<CatalogPage>, ApiError> {
    let filter = query.get("q").map(String::as_str).unwrap_or("");
    let page = match query.get("page") {
        None => 1,
        Some(value) => value.trim().parse::<usize>().map_err(|_| {
            ApiError::invalid_field(
                &["query", "page"],
                "Input should be a valid integer",
                value.clone(),
            )
        })?,
    };
    let view = state.catalog.view().await?;
    Ok(Json(CatalogPage::of(&view, filter, page)))
}
