//! Resolution proper: the manifest (or the chosen platform's manifest of an
//! image index) of a reference, the disk layer in it, and whole-blob fetches.

use bytes::Bytes;
use reqwest::{header::HeaderValue, Method, StatusCode};
use sha2::{Digest, Sha256};

use super::{
    manifest::{choose_disk_layer, choose_platform, Document, Kind, Platform, ACCEPT},
    session::{content_length, fail, read_capped, Session},
    OrasClient, OrasError, ResolvedLayer, MANIFEST_CAP,
};
use super::{OrasRef, OrasReference};
use crate::digest::is_sha256_hex;

impl OrasClient {
    /// Resolves to the disk-image layer. `platform` (`os/arch[/variant]`)
    /// picks from an image index; the server's own platform by default. A
    /// digest reference that names a blob rather than a manifest resolves to
    /// that blob, as the reference implementation read such digests.
    pub async fn resolve(
        &self,
        reference: &OrasRef,
        platform: Option<&str>,
    ) -> Result<ResolvedLayer, OrasError> {
        let wanted = match platform.map(str::trim).filter(|p| !p.is_empty()) {
            Some(text) => {
                Platform::parse(text).ok_or_else(|| OrasError::InvalidPlatform(text.to_owned()))?
            }
            None => Platform::host(),
        };
        let within = tokio::time::timeout(self.timeout, self.resolve_now(reference, &wanted));
        within.await.unwrap_or_else(|_| {
            Err(OrasError::Timeout {
                what: reference.to_string(),
                seconds: self.timeout.as_secs(),
            })
        })
    }

    /// Fetches a blob whole, up to `cap` bytes, and checks its digest (used
    /// to import a catalog.toml stored in a registry). Gives up after 30 s.
    pub async fn fetch_blob(&self, layer: &ResolvedLayer, cap: usize) -> Result<Bytes, OrasError> {
        let url = &layer.blob_url;
        if layer.size > cap as u64 {
            return Err(OrasError::TooLarge {
                what: url.clone(),
                cap: cap as u64,
            });
        }
        let fetch = async {
            let (host, repository) = split_blob_url(url);
            let authorization = layer.authorization.as_deref().and_then(|value| {
                let mut value = HeaderValue::from_str(value).ok()?;
                value.set_sensitive(true);
                Some(value)
            });
            let mut session = Session::new(self, host, repository, authorization);
            let response = session.send(Method::GET, url, None).await?;
            if !response.status().is_success() {
                return Err(fail(response, url, url, host).await);
            }
            let body = read_capped(response, cap, url).await?;
            verify(&body, &layer.digest_hex, url)?;
            Ok(body)
        };
        tokio::time::timeout(self.timeout, fetch)
            .await
            .unwrap_or_else(|_| {
                Err(OrasError::Timeout {
                    what: url.clone(),
                    seconds: self.timeout.as_secs(),
                })
            })
    }

    async fn resolve_now(
        &self,
        reference: &OrasRef,
        wanted: &Platform,
    ) -> Result<ResolvedLayer, OrasError> {
        let OrasRef {
            host, repository, ..
        } = reference;
        let base = format!("{}://{host}/v2/{repository}", self.scheme_for(host));
        let shown = reference.to_string();
        let mut session = Session::new(self, host, repository, None);
        let (url, expected) = match &reference.reference {
            OrasReference::Tag(tag) => (format!("{base}/manifests/{tag}"), None),
            OrasReference::Digest(hex) => (format!("{base}/manifests/sha256:{hex}"), Some(hex)),
        };
        // Distribution 2.8 answers a manifest GET for a layer digest with
        // 500, not 404: that 500 is not retried but tried as a blob.
        session.retry_internal_errors = expected.is_none();
        let response = session.send(Method::GET, &url, Some(ACCEPT)).await?;
        session.retry_internal_errors = true;
        let not_a_manifest = matches!(
            response.status(),
            StatusCode::NOT_FOUND | StatusCode::INTERNAL_SERVER_ERROR
        );
        if let (true, Some(hex)) = (not_a_manifest, expected) {
            if let Some(layer) = blob_as_layer(&mut session, &base, hex).await? {
                return Ok(layer);
            }
        }
        let (top, manifest_digest) = read_manifest(response, &url, expected, &shown, host).await?;
        let layers = match top {
            Kind::Manifest(layers) => layers,
            Kind::Index(manifests) => {
                let chosen = choose_platform(&manifests, wanted).map_err(|available| {
                    OrasError::NoPlatform {
                        reference: shown.clone(),
                        wanted: wanted.to_string(),
                        available,
                    }
                })?;
                let hex = digest_hex(&chosen.digest, &format!("an index entry of {shown}"))?;
                let url = format!("{base}/manifests/sha256:{hex}");
                let response = session.send(Method::GET, &url, Some(ACCEPT)).await?;
                match read_manifest(response, &url, Some(&hex), &shown, host)
                    .await?
                    .0
                {
                    Kind::Manifest(layers) => layers,
                    Kind::Index(_) => {
                        return Err(OrasError::UnsupportedManifest {
                            url,
                            media_type: "nested image index".into(),
                        })
                    }
                }
            }
        };
        let layer = choose_disk_layer(&layers).map_err(|layers| OrasError::NoDiskLayer {
            reference: shown.clone(),
            layers,
        })?;
        let digest_hex = digest_hex(&layer.digest, &format!("the disk layer of {shown}"))?;
        Ok(ResolvedLayer {
            blob_url: format!("{base}/blobs/sha256:{digest_hex}"),
            digest_hex,
            size: layer.size,
            title: layer.title().map(str::to_owned),
            media_type: layer.media_type.clone(),
            authorization: authorization_text(&session),
            manifest_digest: Some(manifest_digest),
        })
    }

    /// The digest (`sha256:…`) of the manifest or index a reference names
    /// now, by a HEAD (which registries do not count as a pull); `None`
    /// when the registry does not say. Gives up after 30 s.
    pub async fn manifest_digest(&self, reference: &OrasRef) -> Result<Option<String>, OrasError> {
        let OrasRef {
            host, repository, ..
        } = reference;
        let base = format!("{}://{host}/v2/{repository}", self.scheme_for(host));
        let url = match &reference.reference {
            OrasReference::Tag(tag) => format!("{base}/manifests/{tag}"),
            OrasReference::Digest(hex) => format!("{base}/manifests/sha256:{hex}"),
        };
        let ask = async {
            let mut session = Session::new(self, host, repository, None);
            let response = session.send(Method::HEAD, &url, Some(ACCEPT)).await?;
            if !response.status().is_success() {
                return Err(fail(response, &url, &reference.to_string(), host).await);
            }
            Ok(response
                .headers()
                .get("docker-content-digest")
                .and_then(|value| value.to_str().ok())
                .filter(|digest| digest_hex(digest, "").is_ok())
                .map(str::to_owned))
        };
        tokio::time::timeout(self.timeout, ask)
            .await
            .unwrap_or_else(|_| {
                Err(OrasError::Timeout {
                    what: reference.to_string(),
                    seconds: self.timeout.as_secs(),
                })
            })
    }
}

/// Reads, verifies (when fetched by digest) and classifies a manifest
/// answer; with its digest (`sha256:…`), what a HEAD of it would say.
async fn read_manifest(
    response: reqwest::Response,
    url: &str,
    expected_hex: Option<&String>,
    reference: &str,
    host: &str,
) -> Result<(Kind, String), OrasError> {
    if !response.status().is_success() {
        return Err(fail(response, url, reference, host).await);
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_capped(response, MANIFEST_CAP, url).await?;
    if let Some(expected) = expected_hex {
        verify(&body, expected, url)?;
    }
    let digest = format!("sha256:{:x}", Sha256::digest(&body));
    let document: Document = serde_json::from_slice(&body).map_err(|e| OrasError::Malformed {
        url: url.to_owned(),
        what: "manifest",
        message: e.to_string(),
    })?;
    let kind = document
        .kind(content_type.as_deref())
        .map_err(|media_type| OrasError::UnsupportedManifest {
            url: url.to_owned(),
            media_type,
        })?;
    Ok((kind, digest))
}

/// The blob a digest reference names, when it is a blob and not a manifest.
async fn blob_as_layer(
    session: &mut Session<'_>,
    base: &str,
    hex: &str,
) -> Result<Option<ResolvedLayer>, OrasError> {
    let blob_url = format!("{base}/blobs/sha256:{hex}");
    let response = session.send(Method::HEAD, &blob_url, None).await?;
    if !response.status().is_success() {
        return Ok(None);
    }
    let media_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    Ok(Some(ResolvedLayer {
        digest_hex: hex.to_owned(),
        size: content_length(response.headers()).unwrap_or(0),
        title: None,
        media_type,
        blob_url,
        authorization: authorization_text(session),
        manifest_digest: None,
    }))
}

fn authorization_text(session: &Session<'_>) -> Option<String> {
    session
        .authorization
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The hex of a `sha256:` digest; other algorithms are refused.
fn digest_hex(digest: &str, what: &str) -> Result<String, OrasError> {
    digest
        .strip_prefix("sha256:")
        .filter(|hex| is_sha256_hex(hex))
        .map(str::to_owned)
        .ok_or_else(|| OrasError::BadDigest {
            what: what.to_owned(),
            digest: digest.to_owned(),
        })
}

fn verify(body: &[u8], expected_hex: &str, url: &str) -> Result<(), OrasError> {
    let actual = format!("{:x}", Sha256::digest(body));
    if actual == expected_hex {
        Ok(())
    } else {
        Err(OrasError::DigestMismatch {
            what: url.to_owned(),
            expected: expected_hex.to_owned(),
            actual,
        })
    }
}

/// Host and repository of `<scheme>://<host>/v2/<repo>/blobs/<digest>`
/// (the repository scopes a token when a challenge names no scope).
fn split_blob_url(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let repository = path
        .strip_prefix("v2/")
        .and_then(|p| p.rsplit_once("/blobs/"))
        .map_or("", |(repository, _)| repository);
    (host, repository)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha256_digests_are_accepted() {
        let hex = "ab".repeat(32);
        assert_eq!(digest_hex(&format!("sha256:{hex}"), "x").expect("ok"), hex);
        assert!(digest_hex(&format!("sha512:{hex}"), "x").is_err());
        assert!(digest_hex("sha256:ABC", "x").is_err());
    }

    #[test]
    fn blob_urls_split_into_host_and_repository() {
        assert_eq!(
            split_blob_url("http://127.0.0.1:5000/v2/a/b/c/blobs/sha256:00"),
            ("127.0.0.1:5000", "a/b/c")
        );
        assert_eq!(split_blob_url("https://h/elsewhere"), ("h", ""));
    }
}
