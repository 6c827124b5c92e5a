//! `DELETE /catalog/cache/{name}` (reference section 1.13): evicts an
//! entry's cached bytes, by name or ref, and keeps its catalog row, so a
//! later Fetch downloads it again (D3). Only the cache is touched.

use app::model::EvictResult;
use axum::{
    extract::{Path, State},
    routing::delete,
    Json, Router,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::{
    audit::{self, Actor, NewEvent},
    auth::{ClientIp, Operator},
    cache,
    catalog::{identity::is_sha256_hex, names},
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    error::ApiError,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/catalog/cache/{name}", delete(evict_cache))
}

async fn evict_cache(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<EvictResult>, ApiError> {
    if names::check_name(&name).is_err() {
        return Err(ApiError::BadRequest(format!("invalid name: {name:?}")));
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
