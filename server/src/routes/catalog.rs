//! Importing catalogs: `POST /catalog/import?source=` (JSON), and the
//! Images page's Upload catalog and Fetch catalog forms
//! (`POST /ui/catalog/upload`, `POST /ui/catalog/fetch-release`), which
//! answer 303 back to the page, with `?error=` when nothing changed.

use std::collections::HashMap;

use axum::{
    extract::{DefaultBodyLimit, Multipart, Query, State},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use bytes::{Bytes, BytesMut};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit::Actor,
    auth::{ClientIp, Operator},
    catalog::{
        import::{self, ImportFailed, ImportReport},
        manifest,
        sources::{self, SourceError, CATALOG_CAP, METADATA_TIMEOUT},
    },
    error::{ApiError, ErrorBody},
    outbound::{self, events::purpose, FetchError},
    state::AppState,
};

/// The Images page's catalog forms answer 401 without a login, like the
/// JSON API (as the reference does), instead of a 303 to the login page.
pub const API_AUTH_PATHS: [&str; 2] = ["/ui/catalog/upload", "/ui/catalog/fetch-release"];

pub fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, upload) = routes!(upload_catalog);
    // The cap is enforced while reading, with the reference's message.
    let upload = upload.layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(import_catalog))
        .routes((schemas, paths, upload))
        .routes(routes!(fetch_release))
}

/// `POST /ui/catalog/upload` form (documentation only: the handler reads
/// the multipart stream itself, to cap it).
#[derive(ToSchema)]
#[allow(dead_code)]
struct CatalogUpload {
    /// A `catalog.toml` (`.toml`, `.tml` or no extension).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// 303 to the Images page, carrying an error for its flash slot.
pub fn back_to_images(error: Option<&str>) -> Response {
    match error {
        None => Redirect::to("/ui/images").into_response(),
        Some(message) => {
            let encoded =
                percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC);
            Redirect::to(&format!("/ui/images?error={encoded}")).into_response()
        }
    }
}

/// Imports every entry of the catalog at `source` (metadata only).
#[utoipa::path(
    post,
    path = "/catalog/import",
    tag = "catalog",
    params(("source" = String, Query, description = "A catalog URL (`http(s)://`, `oras://`) or a path on the server")),
    responses(
        (status = 200, description = "What was imported", body = ImportReport),
        (status = 400, description = "The catalog could not be read or parsed", body = ErrorBody),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 422, description = "`source` is missing, or the outbound policy refused the catalog's URL or a place an entry names", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn import_catalog(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<ImportReport>, ApiError> {
    let source = query
        .get("source")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_field(
                &["query", "source"],
                "Field required",
                serde_json::Value::Null,
            )
        })?;
    let actor = Actor::operator(&operator, source_ip);
    let manifest = match sources::load(&state.core, source).await {
        Ok(manifest) => manifest,
        Err(error) => {
            if let SourceError::Refused { refused, .. } = &error {
                outbound::events::refused(
                    &state.core.db,
                    &state.core.live,
                    &actor,
                    purpose::IMPORT,
                    refused,
                )
                .await;
                return Err(ApiError::unprocessable(error.to_string()));
            }
            return Err(ApiError::BadRequest(error.to_string()));
        }
    };
    let report = import::import(&state.catalog, &manifest, source, &actor)
        .await
        .map_err(|error| match error {
            ImportFailed::Refused { .. } => ApiError::unprocessable(error.to_string()),
            ImportFailed::Db(db) => db.into(),
        })?;
    Ok(Json(report))
}

/// Checks in the reference's order (1.10); nothing changes on a failure.
#[utoipa::path(
    post,
    path = "/ui/catalog/upload",
    tag = "pages",
    request_body(content = CatalogUpload, content_type = "multipart/form-data"),
    responses(
        (status = 303, description = "Back to `/ui/images`, with `?error=` when nothing changed",
            headers(("location" = String))),
        (status = 401, description = "Login required", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn upload_catalog(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let bytes = match read_catalog_field(multipart).await {
        Ok(bytes) => bytes,
        Err(message) => return back_to_images(Some(&message)),
    };
    let manifest = match manifest::parse(&bytes, "<upload>") {
        Ok(manifest) => manifest,
        Err(error) => return back_to_images(Some(&format!("catalog parse failed: {error}"))),
    };
    adopt(
        &state,
        manifest,
        bytes,
        "<upload>",
        Actor::operator(&operator, source_ip),
    )
    .await
}

/// The `file` field, within the cap; the error is the message to show.
async fn read_catalog_field(
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Bytes, String> {
    let no_file = || "no file in upload".to_owned();
    let mut multipart = multipart.map_err(|_| no_file())?;
    loop {
        let Ok(Some(mut field)) = multipart.next_field().await else {
            return Err(no_file());
        };
        if field.name() != Some("file") {
            continue;
        }
        let Some(filename) = field.file_name().map(str::to_owned) else {
            return Err(no_file());
        };
        let lower = filename.to_ascii_lowercase();
        let toml_or_unnamed =
            filename.is_empty() || lower.ends_with(".toml") || lower.ends_with(".tml");
        if !toml_or_unnamed {
            return Err(format!(
                "unexpected file extension for catalog upload: '{filename}' (expected .toml)"
            ));
        }
        let mut bytes = BytesMut::new();
        while let Ok(Some(chunk)) = field.chunk().await {
            if bytes.len() + chunk.len() > CATALOG_CAP {
                return Err(format!(
                    "catalog upload exceeded {CATALOG_CAP} bytes; is this actually a catalog.toml?"
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err("upload was empty".to_owned());
        }
        return Ok(bytes.freeze());
    }
}

/// Pulls the release catalog; never blocks other requests (async I/O).
#[utoipa::path(
    post,
    path = "/ui/catalog/fetch-release",
    tag = "pages",
    responses(
        (status = 303, description = "Back to `/ui/images`, with `?error=` when nothing changed",
            headers(("location" = String))),
        (status = 401, description = "Login required", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn fetch_release(operator: Operator, State(state): State<AppState>) -> Response {
    let url = state.settings.release_catalog_url();
    // The reference records no address for this import.
    let actor = Actor::operator(&operator, None);
    let bytes = match outbound::get_capped(&state.http, &url, CATALOG_CAP, METADATA_TIMEOUT).await {
        Ok(bytes) => bytes,
        Err(FetchError::Refused(refused)) => {
            outbound::events::refused(&state.core.db, &state.core.live, &actor, purpose::RELEASE_FETCH, &refused)
                .await;
            return back_to_images(Some(&format!("release fetch failed: {refused}")));
        }
        Err(FetchError::TooLarge { .. }) => {
            return back_to_images(Some(&format!(
                "fetched catalog exceeded {CATALOG_CAP} bytes; release URL did not serve a catalog.toml"
            )))
        }
        Err(error) => return back_to_images(Some(&format!("release fetch failed: {error}"))),
    };
    if bytes.is_empty() {
        return back_to_images(Some("fetched catalog was empty"));
    }
    let manifest = match manifest::parse(&bytes, &url) {
        Ok(manifest) => manifest,
        Err(error) => {
            return back_to_images(Some(&format!("fetched catalog parse failed: {error}")))
        }
    };
    adopt(&state, manifest, bytes, &url, actor).await
}

/// Imports a parsed catalog and keeps its bytes as the manifest file.
async fn adopt(
    state: &AppState,
    manifest: manifest::Manifest,
    bytes: Bytes,
    source: &str,
    actor: Actor,
) -> Response {
    match import::import(&state.catalog, &manifest, source, &actor).await {
        Ok(_) => {}
        Err(error @ ImportFailed::Refused { .. }) => {
            return back_to_images(Some(&format!("catalog not imported: {error}")));
        }
        Err(ImportFailed::Db(error)) => {
            tracing::error!(%error, source, "catalog import failed");
            return back_to_images(Some(
                "the catalog could not be imported; see the server log",
            ));
        }
    }
    if let Err(error) = sources::keep_manifest(&state.settings, bytes).await {
        tracing::error!(%error, "catalog imported but the manifest file was not written");
        return back_to_images(Some(&format!(
            "catalog imported, but keeping the file failed: {error}"
        )));
    }
    back_to_images(None)
}
