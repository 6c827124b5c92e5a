//! `GET|HEAD /images/{key}` and `/images/{key}/{name}` (reference section
//! 1.4): open byte serving for flash clients. The key is a file name in
//! the image root, a `bty_image_ref`, or a content SHA-256. Range requests
//! (206, 416), `ETag` (the SHA-256) with `If-None-Match`, `Content-Length`
//! and a content type; temporary files are never served. A remote entry
//! not cached yet streams through while it fills the cache; `HEAD` never
//! starts a download (D13).

use std::path::PathBuf;

use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::{
    atomic_file,
    catalog::{format::detect_format, identity::is_sha256_hex, names},
    clock,
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    error::{ApiError, ErrorBody},
    openapi::Binary,
    state::AppState,
};

/// What a key resolved to.
struct Found {
    path: PathBuf,
    /// The content SHA-256, when known and still true of the file.
    sha256: Option<String>,
    /// The name given to a download, for `Content-Disposition`.
    filename: Option<String>,
    content_type: &'static str,
}

/// The bytes of an image, by file name, `ref` or content SHA-256.
#[utoipa::path(
    method(get, head),
    path = "/images/{name}",
    tag = "images",
    params(
        ("name" = String, Path, description = "A file name in the image root, a `ref`, or a content SHA-256"),
        ("range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`"),
        ("if-none-match" = Option<String>, Header, description = "The `ETag` (quoted SHA-256) already held"),
    ),
    responses(
        (status = 200, description = "The bytes: from the image root or the cache, or for a remote entry not cached yet streamed from upstream while it fills the cache (one upstream transfer for all readers). `HEAD` answers the headers only, from the catalog row, and never downloads",
            content_type = "application/octet-stream", body = Binary,
            headers(("etag" = String, description = "The quoted content SHA-256, when known"),
                    ("accept-ranges" = String), ("content-disposition" = String))),
        (status = 206, description = "The requested range", content_type = "application/octet-stream", body = Binary),
        (status = 304, description = "Not modified: the `If-None-Match` ETag matches"),
        (status = 404, description = "No such image in the catalog", body = ErrorBody),
        (status = 416, description = "The range is malformed or outside the file"),
        (status = 502, description = "A remote entry not cached yet: its upstream failed before any byte was sent", body = ErrorBody),
    )
)]
pub async fn get_image(
    State(state): State<AppState>,
    Path(key): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    serve(&state, &key, request).await
}

/// The two-segment form; the name is for the client's benefit only.
#[utoipa::path(
    method(get, head),
    path = "/images/{key}/{*name}",
    tag = "images",
    params(
        ("key" = String, Path, description = "A file name in the image root, a `ref`, or a content SHA-256"),
        ("name" = String, Path, description = "Any name (may hold `/`); only the client reads it"),
        ("range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`"),
        ("if-none-match" = Option<String>, Header, description = "The `ETag` (quoted SHA-256) already held"),
    ),
    responses(
        (status = 200, description = "The bytes: from the image root or the cache, or for a remote entry not cached yet streamed from upstream while it fills the cache (one upstream transfer for all readers). `HEAD` answers the headers only, from the catalog row, and never downloads",
            content_type = "application/octet-stream", body = Binary),
        (status = 206, description = "The requested range", content_type = "application/octet-stream", body = Binary),
        (status = 304, description = "Not modified: the `If-None-Match` ETag matches"),
        (status = 404, description = "No such image in the catalog", body = ErrorBody),
        (status = 416, description = "The range is malformed or outside the file"),
        (status = 502, description = "A remote entry not cached yet: its upstream failed before any byte was sent", body = ErrorBody),
    )
)]
pub async fn get_image_named(
    State(state): State<AppState>,
    Path((key, _name)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    serve(&state, &key, request).await
}

async fn serve(state: &AppState, key: &str, request: Request) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("no such image: {key}"));
    let found = match resolve(state, key).await? {
        Some(found) => found,
        None => {
            let entry = super::stream_through::remote_entry(state, key)
                .await?
                .ok_or_else(not_found)?;
            let method = request.method().clone();
            if let Some(response) = super::stream_through::respond(state, &entry, &method).await? {
                return Ok(response);
            }
            // Cached in the meantime: served from the cache after all.
            resolve(state, key).await?.ok_or_else(not_found)?
        }
    };
    let etag = found.sha256.as_ref().map(|sha| format!("\"{sha}\""));
    if let Some(etag) = &etag {
        if matches_if_none_match(request.headers(), etag) {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            insert(&mut response, header::ETAG, etag);
            return Ok(response);
        }
    }
    let mut response = ServeFile::new(&found.path)
        .oneshot(request)
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map(Body::new);
    if response.status().is_success() || response.status() == StatusCode::RANGE_NOT_SATISFIABLE {
        insert(&mut response, header::CONTENT_TYPE, found.content_type);
        insert(&mut response, header::ACCEPT_RANGES, "bytes");
        if let Some(etag) = &etag {
            insert(&mut response, header::ETAG, etag);
        }
        if let Some(filename) = &found.filename {
            insert(
                &mut response,
                header::CONTENT_DISPOSITION,
                &content_disposition(filename),
            );
        }
    }
    Ok(response)
}

/// By file name first, then as a `bty_image_ref`, then as a content SHA.
async fn resolve(state: &AppState, key: &str) -> Result<Option<Found>, ApiError> {
    let root = state.settings.image_root();
    if names::check_name(key).is_ok() && !atomic_file::is_temp_name(key) {
        if let Ok(path) = names::resolve_in_root(&root, key) {
            if is_regular_file(&path) {
                let sha256 = local_sha(state, key, &path).await?;
                return Ok(Some(Found {
                    path,
                    sha256,
                    filename: Some(key.to_owned()),
                    content_type: content_type_for(key),
                }));
            }
        }
    }
    if !is_sha256_hex(key) {
        return Ok(None);
    }
    let cache = state.settings.cache_dir();
    if let Some(row) = CatalogEntries::find_by_id(key.to_owned())
        .one(&state.db)
        .await?
    {
        if let Some(found) = from_row(state, &row, &cache).await? {
            return Ok(Some(found));
        }
    }
    let cached = cache.join(key);
    if is_regular_file(&cached) {
        return Ok(Some(Found {
            path: cached,
            sha256: Some(key.to_owned()),
            filename: None,
            content_type: "application/octet-stream",
        }));
    }
    let rows = CatalogEntries::find()
        .filter(catalog_entry::Column::DiskImageSha.eq(key))
        .all(&state.db)
        .await?;
    for row in rows {
        if let Some(found) = from_row(state, &row, &cache).await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The bytes a catalog row stands for, if they are held here.
async fn from_row(
    state: &AppState,
    row: &catalog_entry::Model,
    cache: &std::path::Path,
) -> Result<Option<Found>, ApiError> {
    if let Some(sha) = &row.disk_image_sha {
        let cached = cache.join(sha);
        if is_regular_file(&cached) {
            return Ok(Some(Found {
                path: cached,
                sha256: Some(sha.clone()),
                filename: None,
                content_type: content_type_for(&row.name),
            }));
        }
    }
    if row.source_kind != app::model::SourceKind::Local.as_str() {
        return Ok(None);
    }
    let Ok(path) = names::resolve_in_root(&state.settings.image_root(), &row.name) else {
        return Ok(None);
    };
    if !is_regular_file(&path) {
        return Ok(None);
    }
    let sha256 = local_sha(state, &row.name, &path).await?;
    // Found by its digest: only while the digest is still true of the file.
    if row.disk_image_sha.is_some() && sha256 != row.disk_image_sha {
        return Ok(None);
    }
    Ok(Some(Found {
        path,
        sha256,
        filename: Some(row.name.clone()),
        content_type: content_type_for(&row.name),
    }))
}

/// The digest of a local file, when its row has one computed for the file
/// as it is now (same size and modification time).
async fn local_sha(
    state: &AppState,
    name: &str,
    path: &std::path::Path,
) -> Result<Option<String>, ApiError> {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return Ok(None);
    };
    let row = CatalogEntries::find()
        .filter(catalog_entry::Column::Src.eq(crate::catalog::identity::local_src(name)))
        .one(&state.db)
        .await?;
    let size = i64::try_from(metadata.len()).unwrap_or(i64::MAX);
    Ok(row
        .filter(|r| {
            r.hashed_size == Some(size) && r.hashed_mtime_ns == Some(clock::mtime_ns(&metadata))
        })
        .and_then(|r| r.disk_image_sha))
}

fn is_regular_file(path: &std::path::Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// A content type a client can act on: the compression of an image, plain
/// text for sidecars and notes, bytes otherwise.
pub(super) fn content_type_for(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match detect_format(name) {
        Some("img.gz") => "application/gzip",
        Some("img.xz") => "application/x-xz",
        Some("img.zst") => "application/zstd",
        Some("img.bz2") => "application/x-bzip2",
        Some(_) => "application/octet-stream",
        None if lower.ends_with(".sha256") || lower.ends_with(".txt") => {
            "text/plain; charset=utf-8"
        }
        None => "application/octet-stream",
    }
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 name.
fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn matches_if_none_match(headers: &axum::http::HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

pub(super) fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_get_the_type_of_their_compression() {
        assert_eq!(content_type_for("a.img.gz"), "application/gzip");
        assert_eq!(content_type_for("a.IMG.ZST"), "application/zstd");
        assert_eq!(content_type_for("a.qcow2"), "application/octet-stream");
        assert_eq!(
            content_type_for("a.img.sha256"),
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn download_names_survive_quotes_and_unicode() {
        let value = content_disposition("ä \"q\".img");
        assert!(
            value.starts_with("attachment; filename=\"_ _q_.img\""),
            "{value}"
        );
        assert!(
            value.contains("filename*=UTF-8''%C3%A4%20%22q%22%2Eimg"),
            "{value}"
        );
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(matches_if_none_match(&headers, "\"abc\""));
        assert!(!matches_if_none_match(&headers, "\"other\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_if_none_match(&headers, "\"any\""));
    }
}
