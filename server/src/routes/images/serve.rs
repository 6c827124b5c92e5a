//! `GET|HEAD /images/{key}` and `/images/{key}/{name}` (reference section
//! 1.4): open byte serving for flash clients. The key is a file name in
//! the image root, a `bty_image_ref`, or a content SHA-256. Range requests
//! (206, 416), `ETag` (the SHA-256) with `If-None-Match`, `Content-Length`
//! and a content type; temporary files are never served. A remote entry
//! not cached yet streams through while it fills the cache; `HEAD` never
//! starts a download (D13). An image inspected as unsafe or corrupt is a
//! 409 with the reason, never its bytes.

use app::model::{ImageFormat, IMAGE_FORMATS};
use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::{
    cache::ReadKey,
    catalog::inspections::refusal_text,
    error::{ApiError, ErrorBody},
    openapi::Binary,
    state::AppState,
};

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
        (status = 409, description = "The image was inspected and found unsafe (a qcow2 with a backing file, an external data file or encryption) or corrupt; the detail says why", body = ErrorBody),
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
        (status = 409, description = "The image was inspected and found unsafe (a qcow2 with a backing file, an external data file or encryption) or corrupt; the detail says why", body = ErrorBody),
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
    let lookup = state.catalog.lookup(key);
    let found = match lookup.held_bytes().await? {
        Some(found) => found,
        None => {
            let entry = lookup.remote_by_content().await?.ok_or_else(not_found)?;
            // Bytes already found unsafe or corrupt elsewhere are not fetched.
            if let Some(refusal) = state
                .catalog
                .refusal(entry.disk_image_sha.as_deref())
                .await?
            {
                return Err(ApiError::Conflict(refusal));
            }
            let method = request.method().clone();
            if let Some(response) = super::stream_through::respond(state, &entry, &method).await? {
                return Ok(response);
            }
            // Cached in the meantime: served from the cache after all.
            let again = state.catalog.lookup(key);
            again.held_bytes().await?.ok_or_else(not_found)?
        }
    };
    let finding = match found.sha256.as_deref() {
        Some(sha256) => state.catalog.inspection(sha256).await?,
        None => None,
    };
    if let Some(finding) = finding.as_ref().filter(|f| f.state.is_refused()) {
        return Err(ApiError::Conflict(refusal_text(finding)));
    }
    // The bytes' own format once inspected, else the name's.
    let content_type = match &finding {
        Some(finding) => IMAGE_FORMATS
            .iter()
            .find(|format| format.name == finding.format)
            .map_or("application/octet-stream", |format| format.content_type),
        None => found
            .name
            .as_deref()
            .map_or("application/octet-stream", content_type_for),
    };
    let filename = found.name.as_ref().filter(|_| found.local);
    let etag = found.sha256.as_ref().map(|sha| format!("\"{sha}\""));
    if let Some(etag) = &etag {
        if matches_if_none_match(request.headers(), etag) {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            insert(&mut response, header::ETAG, etag);
            return Ok(response);
        }
    }
    // Bytes of the cache a client reads: used now, and not evicted to make
    // room while the body is sent (the image root's are not the cache's).
    let reading = match (&found.sha256, found.local, request.method() == Method::GET) {
        (Some(sha256), false, true) => {
            let key = ReadKey::Content(sha256.clone());
            state.quota.record_use(key.clone()).await;
            Some(state.cache.readers().open(key))
        }
        _ => None,
    };
    let mut response = ServeFile::new(&found.path)
        .oneshot(request)
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map(|body| match reading {
            Some(guard) => {
                Body::from_stream(Body::new(body).into_data_stream().map(move |chunk| {
                    let _held = &guard;
                    chunk
                }))
            }
            None => Body::new(body),
        });
    if response.status().is_success() || response.status() == StatusCode::RANGE_NOT_SATISFIABLE {
        insert(&mut response, header::CONTENT_TYPE, content_type);
        insert(&mut response, header::ACCEPT_RANGES, "bytes");
        if let Some(etag) = &etag {
            insert(&mut response, header::ETAG, etag);
        }
        if let Some(filename) = filename {
            insert(
                &mut response,
                header::CONTENT_DISPOSITION,
                &content_disposition(filename),
            );
        }
    }
    Ok(response)
}

/// A content type a client can act on: the compression of an image, plain
/// text for sidecars and notes, bytes otherwise.
pub(super) fn content_type_for(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match ImageFormat::of(name) {
        Some(format) => format.content_type,
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
