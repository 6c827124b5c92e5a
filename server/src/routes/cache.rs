//! `DELETE /catalog/cache/{name}` (reference section 1.13): evicts an
//! entry's cached bytes, by name or ref, and keeps its catalog row, so a
//! later Fetch downloads it again (D3). Only the cache is touched.

use app::model::EvictResult;
use axum::{
    extract::{Path, State},
    Json,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit::{self, Actor, NewEvent},
    auth::{ClientIp, Operator},
    cache,
    catalog::{identity::is_sha256_hex, names},
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    error::{ApiError, ErrorBody},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evict_cache))
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
    let Some(sha) = sha_for(&state, &name).await? else {
        return Ok(Json(EvictResult {
            name,
            deleted: false,
            reason: Some("no sha256 for name".into()),
            disk_image_sha: None,
        }));
    };
    let dir = state.settings.cache_dir();
    let removed = {
        let (dir, sha) = (dir.clone(), sha.clone());
        tokio::task::spawn_blocking(move || cache::remove(&dir, &sha))
            .await
            .map_err(|error| ApiError::Internal(error.into()))??
    };
    if !removed {
        return Ok(Json(EvictResult {
            name,
            deleted: false,
            reason: Some("not cached".into()),
            disk_image_sha: Some(sha),
        }));
    }
    let event = NewEvent {
        kind: "catalog.cache.deleted",
        subject_kind: "catalog",
        subject_id: name.clone(),
        summary: format!(
            "cached bytes of '{name}' evicted (sha256={}...)",
            &sha[..12]
        ),
        details: Some(json!({"name": name, "disk_image_sha": sha})),
    };
    let actor = Actor::operator(&operator, source_ip);
    audit::record(&state.db, &state.live, &actor, event).await;
    cache::changed(&state).await;
    Ok(Json(EvictResult {
        name,
        deleted: true,
        reason: None,
        disk_image_sha: Some(sha),
    }))
}

/// The sha of the entry `key` names: a `bty_image_ref`, else the oldest
/// entry of that name that has one.
async fn sha_for(state: &AppState, key: &str) -> Result<Option<String>, ApiError> {
    if is_sha256_hex(key) {
        if let Some(row) = CatalogEntries::find_by_id(key.to_owned())
            .one(&state.db)
            .await?
        {
            return Ok(row.disk_image_sha);
        }
    }
    let rows = CatalogEntries::find()
        .filter(catalog_entry::Column::Name.eq(key))
        .order_by_asc(catalog_entry::Column::AddedAt)
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().find_map(|row| row.disk_image_sha))
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
