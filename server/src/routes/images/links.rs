//! Absolute links flash clients follow: the server's origin, and where a
//! catalog row's bytes can be fetched: always this server, never the
//! upstream. Shared by `GET /images` and `GET /catalog.toml`, so both
//! always offer the same URL for a row.

use app::model::{CatalogRow, SourceKind};
use axum::http::{header, HeaderMap};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::{catalog::identity::image_ref_for_src, settings::Settings};

/// Everything but RFC 3986's unreserved characters is encoded, as Python's
/// `quote(name, safe="")` in the reference: spaces, parens, `/`, unicode.
const NAME_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The origin absolute links start with: `BTY_PUBLIC_URL` without its
/// trailing `/` when set (D23), else `http://<Host>`, else
/// `http://127.0.0.1`.
pub(crate) fn origin(settings: &Settings, headers: &HeaderMap) -> String {
    if let Some(public) = settings.public_url.as_deref() {
        return public.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| is_plain_host(host))
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// `<origin>/images/<key>/<percent-encoded name>`: the byte route, keyed by
/// the content SHA-256 of bytes this server holds, or by the
/// `bty_image_ref` of a remote entry it streams through.
pub(crate) fn image_url(origin: &str, key: &str, name: &str) -> String {
    // Pushed piece by piece rather than through `format!`: a listing of
    // thousands of rows builds one per row.
    let mut url = String::with_capacity(origin.len() + key.len() + name.len() + 16);
    url.push_str(origin);
    url.push_str("/images/");
    url.push_str(key);
    url.push('/');
    url.extend(utf8_percent_encode(name, NAME_SEGMENT));
    url
}

/// Where a flash client fetches a row, or `None` when the row must not be
/// offered. Every URL is on this origin: bytes held here under their
/// SHA-256; a remote row not cached yet under the stream-through URL of its
/// first fetchable source, whose first GET streams the upstream bytes,
/// verifies a pinned sha or back-fills an unknown one, and fills the cache
/// (so a client that cannot reach the upstream still gets the image). A
/// local file is offered once it is hashed; a `file://` location is never
/// fetched from (D10). An image found unsafe or corrupt is never offered.
pub(crate) fn flash_url(row: &CatalogRow, origin: &str) -> Option<String> {
    if row.inspection.is_refused() {
        return None;
    }
    if row.cached {
        let sha256 = row.sha256.as_deref()?;
        return Some(image_url(origin, sha256, row.name()));
    }
    let (index, source) =
        row.sources.iter().enumerate().find(|(_, source)| {
            source.kind != SourceKind::Local && !is_file_url(&source.location)
        })?;
    // The row's ref is its first entry's, whose source is the first one
    // (the merge keeps sources in entry order); another source names the
    // entry with its own ref.
    let image_ref = if index == 0 {
        row.image_ref.clone()
    } else {
        image_ref_for_src(&source.location).ok()?
    };
    Some(image_url(origin, &image_ref, row.name()))
}

fn is_file_url(location: &str) -> bool {
    location
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("file://"))
}

/// A Host header that is only a host name or address and a port: anything
/// else (paths, userinfo, spaces) must not end up inside a link.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        })
}

#[cfg(test)]
mod tests {
    use app::model::Source;
    use axum::http::HeaderValue;

    use super::*;

    const SHA: &str = "a8eb701c6f56a8eb701c6f56a8eb701c6f56a8eb701c6f56a8eb701c6f56abcd";

    fn row(cached: bool, sha: Option<&str>, sources: &[(SourceKind, &str)]) -> CatalogRow {
        CatalogRow {
            image_ref: "r".repeat(64),
            sha256: sha.map(str::to_owned),
            names: vec!["my disk (v2) ü/x.img".into()],
            format: Some("img".into()),
            size_bytes: Some(1),
            sources: sources
                .iter()
                .map(|(kind, location)| Source {
                    kind: *kind,
                    location: (*location).to_owned(),
                })
                .collect(),
            cached,
            rolling: false,
            ..Default::default()
        }
    }

    fn headers(host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        headers
    }

    #[test]
    fn the_public_url_wins_over_the_host_header_without_its_trailing_slash() {
        let mut settings = Settings::for_state_dir("/tmp/x");
        settings.public_url = Some("https://bty.example.org/".into());
        assert_eq!(
            origin(&settings, &headers("other:8080")),
            "https://bty.example.org"
        );
    }

    #[test]
    fn without_a_public_url_the_host_header_is_the_origin() {
        let settings = Settings::for_state_dir("/tmp/x");
        assert_eq!(
            origin(&settings, &headers("bty.lan:8080")),
            "http://bty.lan:8080"
        );
        assert_eq!(origin(&settings, &headers("[::1]:80")), "http://[::1]:80");
        assert_eq!(origin(&settings, &HeaderMap::new()), "http://127.0.0.1");
        assert_eq!(
            origin(&settings, &headers("evil/path?x")),
            "http://127.0.0.1"
        );
    }

    #[test]
    fn names_are_encoded_except_for_unreserved_characters() {
        assert_eq!(
            image_url("http://h", SHA, "my disk (v2) ü/x_y-z~.img"),
            format!("http://h/images/{SHA}/my%20disk%20%28v2%29%20%C3%BC%2Fx_y-z~.img")
        );
    }

    #[test]
    fn an_unhashed_local_file_is_never_offered() {
        let local = row(true, None, &[(SourceKind::Local, "/images/x.img")]);
        assert_eq!(flash_url(&local, "http://h"), None);
    }

    #[test]
    fn a_cached_row_is_offered_from_this_origin_under_its_sha() {
        let cached = row(
            true,
            Some(SHA),
            &[(SourceKind::Manifest, "https://up/x.img")],
        );
        assert_eq!(
            flash_url(&cached, "http://h").unwrap(),
            format!("http://h/images/{SHA}/my%20disk%20%28v2%29%20%C3%BC%2Fx.img")
        );
    }

    #[test]
    fn an_uncached_row_is_offered_through_this_origin_under_its_ref_sha_or_not() {
        for sha in [None, Some(SHA)] {
            let remote = row(false, sha, &[(SourceKind::Url, "https://up/x.img")]);
            assert_eq!(
                flash_url(&remote, "http://h").unwrap(),
                format!(
                    "http://h/images/{}/my%20disk%20%28v2%29%20%C3%BC%2Fx.img",
                    "r".repeat(64)
                )
            );
        }
    }

    #[test]
    fn an_uncached_row_streams_its_first_fetchable_source_never_a_file_url() {
        let remote = row(
            false,
            Some(SHA),
            &[
                (SourceKind::Manifest, "file://x.img"),
                (SourceKind::Url, "oras://ghcr.io/a/b:1"),
                (SourceKind::Manifest, "https://up/x.img"),
            ],
        );
        let oras_ref = image_ref_for_src("oras://ghcr.io/a/b:1").unwrap();
        assert_eq!(
            flash_url(&remote, "http://h").unwrap(),
            format!("http://h/images/{oras_ref}/my%20disk%20%28v2%29%20%C3%BC%2Fx.img")
        );
        let file_only = row(false, Some(SHA), &[(SourceKind::Manifest, "FILE://x.img")]);
        assert_eq!(flash_url(&file_only, "http://h"), None);
    }
}
