//! `oras://host[:port]/repo(:tag|@sha256:…)` resolution (reference section
//! 4.5, hardened as its later releases had to be): the registry's manifest,
//! or the chosen platform's manifest of an image index, names the layer that
//! holds the disk image; its digest becomes the content sha.
//!
//! A small client on the server's shared reqwest client, not the
//! `oci-client` crate: the current `oci-client` brings reqwest 0.13 with a
//! second TLS stack (aws-lc), builds its own HTTP client and does not retry.

mod auth;
mod error;
mod manifest;
mod session;

use std::{fmt, time::Duration};

use bytes::Bytes;
use reqwest::{header::HeaderValue, Method, StatusCode};
use sha2::{Digest, Sha256};

pub use self::error::OrasError;
use self::{
    manifest::{choose_disk_layer, choose_platform, Document, Kind, Platform, ACCEPT},
    session::{content_length, fail, read_capped, Session},
};
use crate::{
    catalog::identity::{is_sha256_hex, OrasRef, OrasReference},
    settings::Settings,
};

/// Manifests and indexes larger than this are refused (the distribution
/// spec's limit for what registries must accept).
const MANIFEST_CAP: usize = 4 * 1024 * 1024;
/// Registry metadata must arrive within this.
const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// Resolves `oras://` references against OCI registries.
#[derive(Clone)]
pub struct OrasClient {
    http: reqwest::Client,
    /// `host[:port]` reached over plain http, lower-case.
    insecure: Vec<String>,
    credentials: Option<(String, String)>,
    timeout: Duration,
    retry: RetryPolicy,
}

/// How busy answers (429, 5xx) are retried.
#[derive(Clone, Copy, Debug)]
struct RetryPolicy {
    attempts: u32,
    first_pause: Duration,
    /// A `Retry-After` longer than this ends the retries.
    longest_retry_after: Duration,
}

/// The layer of an artifact that holds the disk image.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolvedLayer {
    /// The layer digest without `sha256:`: the image's content sha.
    pub digest_hex: String,
    /// The layer size the manifest declares.
    pub size: u64,
    /// The `org.opencontainers.image.title` annotation (the file name).
    pub title: Option<String>,
    pub media_type: String,
    /// `<scheme>://<host>/v2/<repo>/blobs/sha256:<hex>`.
    pub blob_url: String,
    /// The `Authorization` header value the blob GET needs, if any. Bearer
    /// tokens expire within minutes: resolve again before a late download.
    pub authorization: Option<String>,
}

impl fmt::Debug for ResolvedLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedLayer")
            .field("digest_hex", &self.digest_hex)
            .field("size", &self.size)
            .field("title", &self.title)
            .field("media_type", &self.media_type)
            .field("blob_url", &self.blob_url)
            .field("authorization", &self.authorization.as_ref().map(|_| "…"))
            .finish()
    }
}

impl fmt::Debug for OrasClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrasClient")
            .field("insecure", &self.insecure)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(user, _)| user),
            )
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

impl OrasClient {
    /// A client using the server's outbound `http` client, the insecure
    /// registry list and the basic credentials from `settings`.
    pub fn new(settings: &Settings, http: reqwest::Client) -> Self {
        let insecure = settings
            .oras_insecure_registries
            .iter()
            .map(|entry| {
                let entry = entry.trim().to_ascii_lowercase();
                let entry = entry
                    .strip_prefix("http://")
                    .or_else(|| entry.strip_prefix("https://"))
                    .unwrap_or(&entry);
                entry.trim_end_matches('/').to_owned()
            })
            .filter(|entry| !entry.is_empty())
            .collect();
        let credentials = settings
            .oras_username
            .clone()
            .filter(|user| !user.is_empty())
            .map(|user| (user, settings.oras_password.clone().unwrap_or_default()));
        OrasClient {
            http,
            insecure,
            credentials,
            timeout: METADATA_TIMEOUT,
            retry: RetryPolicy {
                attempts: 4,
                first_pause: Duration::from_millis(500),
                longest_retry_after: Duration::from_secs(5),
            },
        }
    }

    /// The same client giving up after `timeout` instead of 30 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

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
        let layers = match read_manifest(response, &url, expected, &shown, host).await? {
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
                match read_manifest(response, &url, Some(&hex), &shown, host).await? {
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
        })
    }

    /// `http` for registries listed as insecure, `https` otherwise.
    fn scheme_for(&self, host: &str) -> &'static str {
        if self.insecure.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            "http"
        } else {
            "https"
        }
    }

    /// Credentials go only to https token realms, or to an http realm on a
    /// registry listed as insecure (a loopback or lab registry).
    fn may_send_credentials_to(&self, realm: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(realm) else {
            return false;
        };
        let authority = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return false,
        };
        url.scheme() == "https" || (url.scheme() == "http" && self.scheme_for(&authority) == "http")
    }

    /// `Basic …` from the configured credentials.
    fn basic_authorization(&self) -> Option<HeaderValue> {
        let (user, password) = self.credentials.as_ref()?;
        // reqwest encodes it; the URL is never contacted.
        let request = self
            .http
            .get("http://localhost/")
            .basic_auth(user, Some(password))
            .build()
            .ok()?;
        request
            .headers()
            .get(reqwest::header::AUTHORIZATION)
            .cloned()
    }
}

/// Reads, verifies (when fetched by digest) and classifies a manifest answer.
async fn read_manifest(
    response: reqwest::Response,
    url: &str,
    expected_hex: Option<&String>,
    reference: &str,
    host: &str,
) -> Result<Kind, OrasError> {
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
    let document: Document = serde_json::from_slice(&body).map_err(|e| OrasError::Malformed {
        url: url.to_owned(),
        what: "manifest",
        message: e.to_string(),
    })?;
    document
        .kind(content_type.as_deref())
        .map_err(|media_type| OrasError::UnsupportedManifest {
            url: url.to_owned(),
            media_type,
        })
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

    fn client(insecure: &[&str]) -> OrasClient {
        let mut settings = Settings::for_state_dir("/nonexistent");
        settings.oras_insecure_registries = insecure.iter().map(|s| s.to_string()).collect();
        OrasClient::new(&settings, reqwest::Client::new())
    }

    #[test]
    fn only_listed_registries_are_reached_over_plain_http() {
        let client = client(&[" HTTP://127.0.0.1:5000/ ", "lab.local"]);
        assert_eq!(client.scheme_for("127.0.0.1:5000"), "http");
        assert_eq!(client.scheme_for("lab.local"), "http");
        assert_eq!(client.scheme_for("127.0.0.1:5001"), "https");
        assert_eq!(client.scheme_for("ghcr.io"), "https");
    }

    #[test]
    fn credentials_go_to_https_realms_or_listed_http_ones() {
        let client = client(&["127.0.0.1:5000"]);
        assert!(client.may_send_credentials_to("https://ghcr.io/token"));
        assert!(client.may_send_credentials_to("http://127.0.0.1:5000/token"));
        assert!(!client.may_send_credentials_to("http://evil.example/token"));
        assert!(!client.may_send_credentials_to("not a url"));
    }

    #[test]
    fn basic_credentials_are_encoded_and_kept_out_of_debug_output() {
        assert!(client(&[]).basic_authorization().is_none());
        let mut settings = Settings::for_state_dir("/nonexistent");
        settings.oras_username = Some("u".into());
        settings.oras_password = Some("s3cret".into());
        let client = OrasClient::new(&settings, reqwest::Client::new());
        assert_eq!(
            client.basic_authorization().expect("a header"),
            "Basic dTpzM2NyZXQ="
        );
        assert!(!format!("{client:?}").contains("s3cret"));
    }

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
