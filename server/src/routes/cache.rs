//! `DELETE /catalog/cache/{name}` (reference §1.13): evicts an
//! entry's cached bytes, by name or ref, and keeps its catalog row, so a
//! later Fetch downloads it again (D3). Only the cache is touched: the
//! catalog service finds the sha, the cache evicts it and logs it.
//! `PUT`/`DELETE /catalog/cache/{name}/pin`: pins an entry in the cache,
//! so the quota never evicts its bytes, or unpins it (the catalog service
//! keeps the mark and logs it).

use app::model::{CachePin, EvictResult};
use axum::{
    extract::{Path, State},
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit::Actor,
    auth::{ClientIp, Operator},
    catalog::{cache_marks::PinError, names},
    error::{ApiError, ErrorBody},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(evict_cache))
        .routes(routes!(pin_cached, unpin_cached))
}

/// Pins an entry (by name or ref) in the cache: the quota never evicts its
/// bytes, nor those of any entry with the same content. Audited.
#[utoipa::path(
    put,
    path = "/catalog/cache/{name}/pin",
    tag = "catalog",
    params(("name" = String, Path, description = "Entry name or ref")),
    responses(
        (status = 200, description = "Pinned (also when it already was)", body = CachePin),
        (status = 400, description = "Invalid name, or a file in the image root (never evicted)", body = ErrorBody),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 404, description = "`no catalog entry named '<name>'`", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn pin_cached(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<CachePin>, ApiError> {
    set_pin(&state, &Actor::operator(&operator, source_ip), &name, true).await
}

/// Unpins an entry (by name or ref): the quota may evict its bytes again.
/// Audited.
#[utoipa::path(
    delete,
    path = "/catalog/cache/{name}/pin",
    tag = "catalog",
    params(("name" = String, Path, description = "Entry name or ref")),
    responses(
        (status = 200, description = "Unpinned (also when it was not pinned)", body = CachePin),
        (status = 400, description = "Invalid name, or a file in the image root", body = ErrorBody),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 404, description = "`no catalog entry named '<name>'`", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn unpin_cached(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<CachePin>, ApiError> {
    set_pin(&state, &Actor::operator(&operator, source_ip), &name, false).await
}

async fn set_pin(
    state: &AppState,
    actor: &Actor,
    name: &str,
    keep: bool,
) -> Result<Json<CachePin>, ApiError> {
    match state.catalog.set_keep_cached(name, keep, actor).await {
        Ok(pin) => Ok(Json(pin)),
        Err(PinError::BadName(_)) => Err(ApiError::BadRequest(format!(
            "invalid name: {}",
            py_repr(name)
        ))),
        Err(error @ PinError::LocalOnly(_)) => Err(ApiError::BadRequest(error.to_string())),
        Err(error @ PinError::NoEntry(_)) => Err(ApiError::NotFound(error.to_string())),
        Err(PinError::Db(error)) => Err(error.into()),
    }
}

/// Evicts the cached bytes of an entry (by name or ref); its row stays.
#[utoipa::path(
    delete,
    path = "/catalog/cache/{name}",
    tag = "catalog",
    params(("name" = String, Path, description = "Entry name or ref")),
    responses(
        (status = 200, description = "Evicted, or why not (`deleted: false` with a `reason`)", body = EvictResult),
        (status = 400, description = "`invalid name: '<name>'`", body = ErrorBody),
        (status = 401, description = "Login required", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn evict_cache(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<EvictResult>, ApiError> {
    if names::check_name(&name).is_err() {
        return Err(ApiError::BadRequest(format!(
            "invalid name: {}",
            py_repr(&name)
        )));
    }
    let Some(sha) = state.catalog.lookup(&name).sha().await? else {
        return Ok(Json(EvictResult {
            name,
            deleted: false,
            reason: Some("no sha256 for name".into()),
            disk_image_sha: None,
        }));
    };
    let actor = Actor::operator(&operator, source_ip);
    if !state.cache.evict(&name, &sha, &actor).await? {
        return Ok(Json(EvictResult {
            name,
            deleted: false,
            reason: Some("not cached".into()),
            disk_image_sha: Some(sha),
        }));
    }
    Ok(Json(EvictResult {
        name,
        deleted: true,
        reason: None,
        disk_image_sha: Some(sha),
    }))
}

/// A string as Python's `repr()` writes it, as the reference's error texts
/// show names: single quotes unless the text has one and no double quote.
fn py_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::py_repr;

    #[test]
    fn names_are_quoted_as_python_repr_quotes_them() {
        assert_eq!(py_repr(".."), "'..'");
        assert_eq!(py_repr("a/b"), "'a/b'");
        assert_eq!(py_repr("a\\b"), "'a\\\\b'");
        assert_eq!(py_repr("nul\0"), "'nul\\x00'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("'\""), "'\\'\"'");
        assert_eq!(py_repr(""), "''");
    }
}
