//! Adding an image by URL (reference §§1.6 and 1.9): validation,
//! the `ref` check, the checksum file (`sha_url`, with the D12 fixes), the
//! size probe, `oras://` resolution, and the insert with its events. The
//! JSON route and the page's form share all of it (D11).

use std::time::Duration;

use app::model::SourceKind;
use sea_orm::{ActiveModelTrait, DbErr, EntityTrait};
use serde::Serialize;

use super::{events, format::detect_format, identity, service::Catalog};
use crate::{
    audit::Actor,
    catalog::sources::METADATA_TIMEOUT,
    clock,
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    digest::is_sha256_hex,
    oras::{OrasClient, OrasError, OrasRef, OrasReference},
    outbound::{self, events::purpose, FetchError, Refused, SendError},
    plumbing::Core,
};

/// A checksum file is small.
const SHA_FILE_CAP: usize = 1024 * 1024;
/// The size probe is best-effort and quick.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What the operator asked to add.
#[derive(Clone, Debug, Default)]
pub struct NewEntry {
    pub image_url: String,
    pub sha_url: Option<String>,
    pub image_ref: Option<String>,
}

/// The 201 answer: the new row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AddedEntry {
    pub src: String,
    pub bty_image_ref: String,
    pub disk_image_sha: Option<String>,
    pub name: String,
    pub sha_url: Option<String>,
    pub format: Option<String>,
    pub size_bytes: Option<i64>,
    pub added_at: String,
}

/// Why an entry was not added. The routes map each to a status (JSON) or a
/// message for the page (form).
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Field `(name, message, input)` failed validation.
    #[error("{1}")]
    Invalid(&'static str, String, String),
    #[error("ref mismatch: supplied '{supplied}' but image_ref_for_src('{url}') = '{expected}'. The ref is the SHA-256 of the canonical image_url; leave it out to have it computed.")]
    RefMismatch {
        supplied: String,
        url: String,
        expected: String,
    },
    /// Resolving the registry reference failed (the text says why).
    #[error("{0}")]
    Oras(String),
    /// Fetching or reading the checksum file failed (the text says why).
    #[error("{0}")]
    Sha(String),
    #[error("image_url must end in a filename component (e.g. https://example.com/path/foo.img.gz); got '{0}' which has no basename")]
    NoBasename(String),
    #[error("invalid image_url: {0}")]
    InvalidUrl(String),
    #[error("catalog entry with src={0} already exists")]
    Duplicate(String),
    /// The outbound policy refused the image URL, the checksum file, the
    /// registry or one of their redirects.
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Adds the entry; logs `catalog.entry.added` or, when resolving its sha
/// failed, `catalog.entry.add_failed`, or when the outbound policy refused
/// a request, `outbound.refused`.
pub async fn add(catalog: &Catalog, new: NewEntry, actor: &Actor) -> Result<AddedEntry, AddError> {
    let core = &catalog.core;
    validate(&new)?;
    let url = new.image_url.clone();
    let expected =
        identity::image_ref_for_src(&url).map_err(|e| AddError::InvalidUrl(e.to_string()))?;
    if let Some(supplied) = &new.image_ref {
        if *supplied != expected {
            return Err(AddError::RefMismatch {
                supplied: supplied.clone(),
                url,
                expected,
            });
        }
    }
    let resolved = if let Some(rest) = url.strip_prefix("oras://") {
        resolve_oras(core, rest).await
    } else {
        resolve_http(core, &new).await
    };
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(error @ (AddError::Oras(_) | AddError::Sha(_))) => {
            let sha_url = new.sha_url.as_deref();
            events::entry_add_failed(core, actor, &url, sha_url, &error.to_string()).await;
            return Err(error);
        }
        Err(AddError::Refused(refused)) => {
            outbound::events::refused(&core.db, &core.live, actor, purpose::ADD, &refused).await;
            return Err(AddError::Refused(refused));
        }
        Err(other) => return Err(other),
    };
    if CatalogEntries::find_by_id(expected.clone())
        .one(&core.db)
        .await?
        .is_some()
    {
        return Err(AddError::Duplicate(url));
    }
    let row = catalog_entry::Model {
        bty_image_ref: expected,
        src: url.clone(),
        disk_image_sha: resolved.sha256,
        name: resolved.name,
        sha_url: resolved.sha_url,
        format: resolved.format,
        size_bytes: resolved.size_bytes,
        description: None,
        added_at: clock::now_iso(),
        source_kind: SourceKind::Url,
        file_mtime_ns: None,
        hashed_size: None,
        hashed_mtime_ns: None,
        sha_observed: resolved.rolling,
        keep_cached: false,
        last_used_at: None,
        upstream_etag: None,
        upstream_last_modified: None,
        upstream_digest: None,
    };
    if catalog_entry::ActiveModel::from(row.clone())
        .insert(&core.db)
        .await
        .is_err()
    {
        // Both keys are unique: a row that appeared meanwhile, or the same src.
        return Err(AddError::Duplicate(url));
    }
    events::entry_added(core, actor, &row, resolved.oras).await;
    catalog.changed();
    Ok(AddedEntry {
        src: row.src,
        bty_image_ref: row.bty_image_ref,
        disk_image_sha: row.disk_image_sha,
        name: row.name,
        sha_url: row.sha_url,
        format: row.format,
        size_bytes: row.size_bytes,
        added_at: row.added_at,
    })
}

/// What resolving the source told us.
struct Resolved {
    name: String,
    sha256: Option<String>,
    sha_url: Option<String>,
    format: Option<String>,
    size_bytes: Option<i64>,
    oras: bool,
    /// The sha came from resolving a tag that may move.
    rolling: bool,
}

async fn resolve_http(core: &Core, new: &NewEntry) -> Result<Resolved, AddError> {
    let url = &new.image_url;
    let name = basename(url).ok_or_else(|| AddError::NoBasename(url.clone()))?;
    // The image's own URL first: a refused one fetches nothing else.
    let size_bytes = probe_size(core, url).await?;
    let sha256 = match &new.sha_url {
        Some(sha_url) => Some(fetch_sha(core, sha_url, &name).await?),
        None => None,
    };
    Ok(Resolved {
        format: detect_format(&name).map(str::to_owned),
        size_bytes,
        name,
        sha256,
        sha_url: new.sha_url.clone(),
        oras: false,
        rolling: false,
    })
}

/// The registry's disk-image layer: its digest is the content sha, its
/// title the name (else the repository's last part), its size the size.
async fn resolve_oras(core: &Core, rest: &str) -> Result<Resolved, AddError> {
    let reference = OrasRef::parse(rest).map_err(|why| AddError::Oras(why.to_owned()))?;
    let client = OrasClient::new(&core.settings, core.http.clone());
    let layer = client
        .resolve(&reference, None)
        .await
        .map_err(|error| match error {
            OrasError::Refused(refused) => AddError::Refused(refused),
            other => AddError::Oras(other.to_string()),
        })?;
    let name = layer.title.clone().unwrap_or_else(|| {
        reference
            .repository
            .rsplit('/')
            .next()
            .unwrap_or(&reference.repository)
            .to_owned()
    });
    Ok(Resolved {
        format: Some(detect_format(&name).unwrap_or("img.gz").to_owned()),
        size_bytes: i64::try_from(layer.size).ok(),
        sha256: Some(layer.digest_hex),
        name,
        // A checksum file is not used for registry images: the digest is it.
        sha_url: None,
        oras: true,
        rolling: matches!(reference.reference, OrasReference::Tag(_)),
    })
}

/// The last path segment of an http(s) URL (the reference's
/// `basename(urlparse(url).path)`): `https://h/foo/` has `foo`.
fn basename(url: &str) -> Option<String> {
    let after_scheme = url.split_once("://")?.1;
    let path = after_scheme
        .find('/')
        .map(|i| &after_scheme[i..])
        .unwrap_or("");
    let path = path.split(['?', '#']).next().unwrap_or("");
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    (!name.is_empty()).then(|| name.to_owned())
}

async fn fetch_sha(core: &Core, sha_url: &str, name: &str) -> Result<String, AddError> {
    let bytes = outbound::get_capped(&core.http, sha_url, SHA_FILE_CAP, METADATA_TIMEOUT)
        .await
        .map_err(|error| match error {
            FetchError::Refused(refused) => AddError::Refused(refused),
            other => AddError::Sha(other.to_string()),
        })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| AddError::Sha(format!("{sha_url} is not UTF-8 text")))?;
    digest_for(text, name).map_err(|why| AddError::Sha(format!("{sha_url}: {why}")))
}

/// The digest a checksum file gives for `name`: the line naming it, or the
/// only line when that line names no file (D12: a bare digest is fine).
pub fn digest_for(text: &str, name: &str) -> Result<String, String> {
    let mut named = None;
    let mut bare = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(2, char::is_whitespace);
        let digest = parts.next().unwrap_or("").to_ascii_lowercase();
        if !is_sha256_hex(&digest) {
            return Err(format!(
                "malformed line {line:?} (expected <64 hex>  <file name>)"
            ));
        }
        match parts.next().map(str::trim).filter(|f| !f.is_empty()) {
            None => bare.push(digest),
            Some(file) => {
                let file = file.strip_prefix('*').unwrap_or(file);
                let file = file.strip_prefix("./").unwrap_or(file);
                if file == name && named.is_none() {
                    named = Some(digest);
                }
            }
        }
    }
    match (named, bare.as_slice()) {
        (Some(digest), _) => Ok(digest),
        (None, [only]) => Ok(only.clone()),
        _ => Err(format!("does not list a digest for {name}")),
    }
}

/// `Content-Length` from a HEAD, best effort; only the outbound policy's
/// refusal is an error.
async fn probe_size(core: &Core, url: &str) -> Result<Option<i64>, Refused> {
    let response = match tokio::time::timeout(HEAD_TIMEOUT, core.http.head(url).send()).await {
        Ok(Ok(response)) => response,
        Ok(Err(SendError::Refused(refused))) => return Err(refused),
        Ok(Err(SendError::Http(_))) | Err(_) => return Ok(None),
    };
    if !response.status().is_success() {
        return Ok(None);
    }
    Ok(response
        .headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok())
        .and_then(|length| length.parse().ok()))
}

/// The reference's pydantic rules for `image_url`, `sha_url` and `ref`.
fn validate(new: &NewEntry) -> Result<(), AddError> {
    if !(is_http_url(&new.image_url) || is_oras_url(&new.image_url)) {
        return Err(AddError::Invalid(
            "image_url",
            "image_url must be an http(s):// URL with a host, or oras://host/repo:tag".into(),
            new.image_url.clone(),
        ));
    }
    if let Some(sha_url) = &new.sha_url {
        if !is_http_url(sha_url) {
            return Err(AddError::Invalid(
                "sha_url",
                "sha_url must be an http(s):// URL with a host".into(),
                sha_url.clone(),
            ));
        }
    }
    if let Some(image_ref) = &new.image_ref {
        if !is_sha256_hex(image_ref) {
            return Err(AddError::Invalid(
                "ref",
                "ref must be 64 lower-case hex characters".into(),
                image_ref.clone(),
            ));
        }
    }
    Ok(())
}

/// `^https?://[^\s/?#]+(?:[/?#]\S*)?$`, lower-case scheme.
fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    host_end > 0 && !rest.contains(char::is_whitespace)
}

/// `^oras://[^\s/?#]+/\S+$`.
fn is_oras_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("oras://") else {
        return false;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return false;
    };
    !host.is_empty()
        && !host.contains(['?', '#'])
        && !path.is_empty()
        && !rest.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn the_line_naming_the_file_wins() {
        let text = format!("{A}  other.img\n{B} *./disk.img.gz\n");
        assert_eq!(digest_for(&text, "disk.img.gz"), Ok(B.into()));
    }

    #[test]
    fn a_single_bare_digest_is_accepted_and_upper_case_lowered() {
        assert_eq!(
            digest_for(&format!("{}\n", A.to_uppercase()), "x.img"),
            Ok(A.into())
        );
    }

    #[test]
    fn hidden_names_keep_their_dot_and_missing_names_are_an_error() {
        let text = format!("{A}  .hidden.img\n");
        assert_eq!(digest_for(&text, ".hidden.img"), Ok(A.into()));
        assert!(digest_for(&text, "hidden.img").is_err());
        assert!(digest_for("not-a-digest  x.img", "x.img").is_err());
        assert!(
            digest_for(&format!("{A}\n{B}\n"), "x.img").is_err(),
            "two bare digests are ambiguous"
        );
    }

    #[test]
    fn basenames_follow_the_url_path() {
        assert_eq!(
            basename("https://h/a/foo.img.gz?x=1#f").as_deref(),
            Some("foo.img.gz")
        );
        assert_eq!(basename("https://h/foo/").as_deref(), Some("foo"));
        assert_eq!(basename("https://h/"), None);
        assert_eq!(basename("https://h"), None);
    }

    #[test]
    fn urls_follow_the_reference_patterns() {
        assert!(is_http_url("https://h/x.img"));
        assert!(is_http_url("http://h"));
        assert!(!is_http_url("HTTPS://h/x.img"));
        assert!(!is_http_url("https://?"));
        assert!(!is_http_url("http:///path"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https://h/a b"));
        assert!(is_oras_url("oras://ghcr.io/a/b:1"));
        assert!(!is_oras_url("oras://ghcr.io"));
    }
}
