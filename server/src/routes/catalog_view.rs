//! `GET /catalog/view?q=&page=`: one page of the unified catalog, filtered
//! by name, SHA-256 prefix, source or format. The Images page reads it to
//! stay small and live with catalogs of thousands of entries.

use std::collections::HashMap;

use app::model::CatalogPage;
use axum::{
    extract::{Query, State},
    routing::get,
    Json, Router,
};

use crate::{auth::Operator, error::ApiError, pages, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/catalog/view", get(get_catalog_view))
}

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
    let view = pages::catalog_view(&state).await?;
    Ok(Json(CatalogPage::of(&view, filter, page)))
}
