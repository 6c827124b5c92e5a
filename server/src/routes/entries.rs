//! Catalog entries (reference §§1.6, 1.7, 1.9): add by URL as JSON
//! (`POST /catalog/entries`) or from the page's form
//! (`POST /ui/catalog/entries`, 303 back), list, and delete by `src`.

use std::collections::HashMap;

use app::model::{CatalogRow, InspectionState};
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::catalog::back_to_images;
use crate::{
    audit::Actor,
    auth::{ClientIp, Operator},
    catalog::{
        entries::{self, AddError, AddedEntry, NewEntry},
        unified::apply_finding,
        DeleteError,
    },
    error::{ApiError, AppJson, ErrorBody},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_entries, add_entry, delete_entry))
        .routes(routes!(add_entry_form))
}

/// `POST /catalog/entries` body; unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddRequest {
    /// `http(s)://` image URL or `oras://` reference.
    image_url: String,
    /// A checksum file to read the SHA-256 from.
    #[serde(default)]
    sha_url: Option<String>,
    /// The expected `bty_image_ref`; refused when it does not match.
    #[serde(default, rename = "ref")]
    image_ref: Option<String>,
}

/// Adds an entry by URL; its SHA-256 comes from `sha_url` or the registry.
#[utoipa::path(
    post,
    path = "/catalog/entries",
    tag = "catalog",
    request_body = AddRequest,
    responses(
        (status = 201, description = "The new entry", body = AddedEntry),
        (status = 400, description = "The URL or checksum could not be resolved", body = ErrorBody),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 409, description = "An entry with this `src` exists", body = ErrorBody),
        (status = 422, description = "A field is missing, unknown or invalid, or the outbound policy refused a URL", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn add_entry(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    AppJson(request): AppJson<AddRequest>,
) -> Result<(StatusCode, Json<AddedEntry>), ApiError> {
    let new = NewEntry {
        image_url: request.image_url,
        sha_url: request.sha_url,
        image_ref: request.image_ref,
    };
    let added = entries::add(&state.catalog, new, &Actor::operator(&operator, source_ip))
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
        AddError::Refused(refused) => ApiError::unprocessable(refused.to_string()),
        AddError::Db(db) => db.into(),
    }
}

/// The page's form: `image_url` and an optional `sha_url`.
#[derive(Debug, Deserialize, ToSchema)]
struct AddForm {
    #[serde(default)]
    image_url: String,
    #[serde(default)]
    sha_url: Option<String>,
}

/// The Images page's add-by-URL form.
#[utoipa::path(
    post,
    path = "/ui/catalog/entries",
    tag = "pages",
    request_body(content = AddForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to `/ui/images`, with `?error=` when nothing was added; \
            to `/ui/login` without a session", headers(("location" = String))),
    ),
    security(("cookie" = []))
)]
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
    match entries::add(&state.catalog, new, &Actor::operator(&operator, source_ip)).await {
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
#[derive(Debug, Serialize, ToSchema)]
struct EntryRow {
    bty_image_ref: String,
    src: String,
    disk_image_sha: Option<String>,
    name: String,
    sha_url: Option<String>,
    /// What the bytes are once inspected, until then what the name says.
    format: Option<String>,
    size_bytes: Option<i64>,
    description: Option<String>,
    added_at: String,
    /// `local`, `url` or `manifest`.
    kind: String,
    /// What a flasher writes (decompressed; a qcow2's virtual size), once inspected.
    uncompressed_size: Option<u64>,
    /// The SHA-256 of the decompressed bytes, once inspected (none for qcow2).
    uncompressed_sha256: Option<String>,
    inspection: InspectionState,
    /// Why the image is unsafe or corrupt.
    inspection_reason: Option<String>,
    /// The name says another format than the bytes: `named .img, contains gzip`.
    format_warning: Option<String>,
    /// Pinned in the cache by an operator: never evicted to make room.
    keep_cached: bool,
}

/// Every catalog entry, oldest first.
#[utoipa::path(
    get,
    path = "/catalog/entries",
    tag = "catalog",
    responses(
        (status = 200, description = "The entries", body = Vec<EntryRow>),
        (status = 401, description = "Login required", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn list_entries(
    _operator: Operator,
    State(state): State<AppState>,
) -> Result<Json<Vec<EntryRow>>, ApiError> {
    let rows = state.catalog.entries().await?;
    let findings = state.catalog.findings().await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| {
                // The unified view's rule for a finding, on a one-entry row.
                let mut view = CatalogRow {
                    names: vec![row.name.clone()],
                    sha256: row.disk_image_sha.clone(),
                    format: row.format.clone(),
                    ..Default::default()
                };
                if let Some(finding) = row
                    .disk_image_sha
                    .as_ref()
                    .and_then(|sha| findings.get(sha))
                {
                    apply_finding(&mut view, finding);
                }
                EntryRow {
                    bty_image_ref: row.bty_image_ref,
                    src: row.src,
                    disk_image_sha: row.disk_image_sha,
                    name: row.name,
                    sha_url: row.sha_url,
                    format: view.format,
                    size_bytes: row.size_bytes,
                    description: row.description,
                    added_at: row.added_at,
                    kind: row.source_kind.as_str().to_owned(),
                    keep_cached: row.keep_cached,
                    uncompressed_size: view.uncompressed_size,
                    uncompressed_sha256: view.uncompressed_sha256,
                    inspection: view.inspection,
                    inspection_reason: view.inspection_reason,
                    format_warning: view.format_warning,
                }
            })
            .collect(),
    ))
}

/// Deletes the entry whose `src` is exactly the one given. A file in the
/// image root is deleted by deleting the file; its row follows.
#[utoipa::path(
    delete,
    path = "/catalog/entries",
    tag = "catalog",
    params(("src" = String, Query, description = "The entry's exact `src`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 404, description = "No entry has this `src`", body = ErrorBody),
        (status = 409, description = "A file in the image root: delete the file instead", body = ErrorBody),
        (status = 422, description = "`src` is missing", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn delete_entry(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let src = query
        .get("src")
        .ok_or_else(|| ApiError::invalid_field(&["query", "src"], "Field required", Value::Null))?;
    let actor = Actor::operator(&operator, source_ip);
    state
        .catalog
        .delete_remote(src, &actor)
        .await
        .map_err(|error| match error {
            DeleteError::NotFound(_) => ApiError::NotFound(error.to_string()),
            DeleteError::Local(_) => ApiError::Conflict(error.to_string()),
            DeleteError::Db(db) => db.into(),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
