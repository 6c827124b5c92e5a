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
mod reference;
mod resolve;
mod session;

use std::{fmt, time::Duration};

use reqwest::header::HeaderValue;

pub use self::{
    error::OrasError,
    reference::{OrasRef, OrasReference},
};
use crate::{outbound::Outbound, retry::RetryPolicy, settings::Settings};

/// Manifests and indexes larger than this are refused (the distribution
/// spec's limit for what registries must accept).
const MANIFEST_CAP: usize = 4 * 1024 * 1024;
/// Registry metadata must arrive within this.
const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// Resolves `oras://` references against OCI registries.
#[derive(Clone)]
pub struct OrasClient {
    http: Outbound,
    /// `host[:port]` reached over plain http, lower-case.
    insecure: Vec<String>,
    credentials: Option<(String, String)>,
    timeout: Duration,
    retry: RetryPolicy,
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
    /// The layer's media type (`application/vnd.oci.image.layer.v1.tar`, …).
    pub media_type: String,
    /// `<scheme>://<host>/v2/<repo>/blobs/sha256:<hex>`.
    pub blob_url: String,
    /// The `Authorization` header value the blob GET needs, if any. Bearer
    /// tokens expire within minutes: resolve again before a late download.
    pub authorization: Option<String>,
    /// The digest (`sha256:…`) of the manifest or index the reference
    /// names, as a HEAD of it answers: an Update asks whether it moved.
    /// None for a digest reference that names a blob.
    pub manifest_digest: Option<String>,
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
            .field("manifest_digest", &self.manifest_digest)
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
    pub fn new(settings: &Settings, http: Outbound) -> Self {
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
            retry: RetryPolicy::REGISTRY,
        }
    }

    /// The same client giving up after `timeout` instead of 30 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
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
        self.http.basic_authorization(user, password)
    }

    /// The registry's API root for `reference` (`http` or `https` as
    /// [`OrasClient::scheme_for`] chooses): what the outbound policy is
    /// asked about before a catalog naming the registry is imported.
    pub fn registry_url(&self, reference: &OrasRef) -> String {
        format!(
            "{}://{}/v2/",
            self.scheme_for(&reference.host),
            reference.host
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(insecure: &[&str]) -> OrasClient {
        let mut settings = Settings::for_state_dir("/nonexistent");
        settings.oras_insecure_registries = insecure.iter().map(|s| s.to_string()).collect();
        OrasClient::new(&settings, outbound())
    }

    fn outbound() -> Outbound {
        Outbound::new(crate::outbound::Policy::default()).expect("a client")
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
        let client = OrasClient::new(&settings, outbound());
        assert_eq!(
            client.basic_authorization().expect("a header"),
            "Basic dTpzM2NyZXQ="
        );
        assert!(!format!("{client:?}").contains("s3cret"));
    }
}
