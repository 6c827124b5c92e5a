//! Catalog entries (reference sections 1.6, 1.7, 1.9): add by URL as JSON
//! (`POST /catalog/entries`) or from the page's form
//! (`POST /ui/catalog/entries`, 303 back), list, and delete by `src`.

use std::collections::HashMap;

use app::model::SourceKind;
use axum::{
    extract::{rejection::JsonRejection, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Form, Json, Router,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalog::back_to_images;
use crate::{
    audit::{self, Actor, NewEvent},
    auth::{ClientIp, Operator},
    catalog::entries::{self, AddError, AddedEntry, NewEntry},
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    error::ApiError,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/catalog/entries",
            get(list_entries).post(add_entry).delete(delete_entry),
        )
        .route("/ui/catalog/entries", post(add_entry_form))
}

/// `POST /catalog/entries` body; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddRequest {
    image_url: String,
    #[serde(default)]
    sha_url: Option<String>,
    #[serde(default, rename = "ref")]
    image_ref: Option<String>,
}

async fn add_entry(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    body: Result<Json<AddRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<AddedEntry>), ApiError> {
    let Json(request) = body.map_err(super::hashes::json_rejection)?;
    let new = NewEntry {
        image_url: request.image_url,
        sha_url: request.sha_url,
        image_ref: request.image_ref,
    };
    let added = entries::add(&state, new, &Actor::operator(&operator, source_ip))
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(added)))
}

fn api_error(error: AddError) -> ApiError {
    match error {
        AddError::Invalid(field, message, input) => {
            ApiError::invalid_field(&["body", field], &message, input)
        }
        AddError::RefMismatch { .. } | AddError::NoBasename(_) => {
            ApiError::unprocessable(error.to_string())
        }
        AddError::Oras(why) => ApiError::BadRequest(format!("could not resolve oras ref: {why}")),
        AddError::Sha(why) => ApiError::BadRequest(format!("could not resolve sha256: {why}")),
        AddError::InvalidUrl(_) => ApiError::BadRequest(error.to_string()),
        AddError::Duplicate(_) => ApiError::Conflict(error.to_string()),
        AddError::Db(db) => db.into(),
    }
}

/// The page's form: `image_url` and an optional `sha_url`.
#[derive(Debug, Deserialize)]
struct AddForm {
    #[serde(default)]
    image_url: String,
    #[serde(default)]
    sha_url: Option<String>,
}

async fn add_entry_form(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Form(form): Form<AddForm>,
) -> Response {
    let new = NewEntry {
        image_url: form.image_url.trim().to_owned(),
        // An empty field means no checksum file.
        sha_url: form
            .sha_url
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        image_ref: None,
    };
    match entries::add(&state, new, &Actor::operator(&operator, source_ip)).await {
        Ok(_) => back_to_images(None),
        Err(error) => {
            let message = match error {
                AddError::Invalid(field, message, _) => {
                    format!("validation failed: {field}: {message}")
                }
                AddError::Oras(why) => format!("oras resolve failed: {why}"),
                AddError::Sha(why) => format!("sha resolve failed: {why}"),
                AddError::Duplicate(_) => "already exists".to_owned(),
                AddError::Db(error) => {
                    tracing::error!(%error, "adding a catalog entry");
                    "the entry could not be stored; see the server log".to_owned()
                }
                other => other.to_string(),
            };
            back_to_images(Some(&message))
        }
    }
}

/// One row of `GET /catalog/entries`.
#[derive(Debug, Serialize)]
struct EntryRow {
    bty_image_ref: String,
    src: String,
    disk_image_sha: Option<String>,
    name: String,
    sha_url: Option<String>,
    format: Option<String>,
    size_bytes: Option<i64>,
    description: Option<String>,
    added_at: String,
    /// `local`, `url` or `manifest`.
    kind: String,
}

async fn list_entries(
    _operator: Operator,
    State(state): State<AppState>,
) -> Result<Json<Vec<EntryRow>>, ApiError> {
    let rows = CatalogEntries::find()
        .order_by_asc(catalog_entry::Column::AddedAt)
        .all(&state.db)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| EntryRow {
                bty_image_ref: row.bty_image_ref,
                src: row.src,
                disk_image_sha: row.disk_image_sha,
                name: row.name,
                sha_url: row.sha_url,
                format: row.format,
                size_bytes: row.size_bytes,
                description: row.description,
                added_at: row.added_at,
                kind: row.source_kind,
            })
            .collect(),
    ))
}

/// Deletes the entry whose `src` is exactly the one given. A file in the
/// image root is deleted by deleting the file; its row follows.
async fn delete_entry(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let src = query
        .get("src")
        .ok_or_else(|| ApiError::invalid_field(&["query", "src"], "Field required", Value::Null))?;
    let row = CatalogEntries::find()
        .filter(catalog_entry::Column::Src.eq(src.as_str()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no catalog entry with src={src}")))?;
    if row.source_kind == SourceKind::Local.as_str() {
        return Err(ApiError::Conflict(format!(
            "{src} is a file in the image root; delete the file and its entry goes with it"
        )));
    }
    CatalogEntries::delete_by_id(row.bty_image_ref)
        .exec(&state.db)
        .await?;
    let event = NewEvent {
        kind: "catalog.entry.deleted",
        subject_kind: "catalog",
        subject_id: src.clone(),
        summary: format!("catalog entry deleted: {}", row.name),
        details: None,
    };
    audit::record(
        &state.db,
        &state.live,
        &Actor::operator(&operator, source_ip),
        event,
    )
    .await;
    state.live.catalog_changed();
    Ok(StatusCode::NO_CONTENT.into_response())
}
