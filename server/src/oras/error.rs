//! Why an `oras://` reference could not be resolved or its blob fetched,
//! in words an operator can act on (the add route prefixes them with
//! `could not resolve oras ref: `).

/// A failed resolution or blob fetch.
#[derive(Debug, thiserror::Error)]
pub enum OrasError {
    #[error("cannot reach {url}: {message}{hint}")]
    Unreachable {
        url: String,
        message: String,
        /// Set when an https connection failed: the registry may be plain http.
        hint: &'static str,
    },
    #[error("{what}: no answer within {seconds} s")]
    Timeout { what: String, seconds: u64 },
    #[error("registry {host} refused access (HTTP 401): {detail}")]
    Unauthorized { host: String, detail: String },
    #[error("registry {host} denied access to {reference} (HTTP 403): {detail}")]
    Forbidden {
        host: String,
        reference: String,
        detail: String,
    },
    #[error("{reference} not found: {detail}")]
    NotFound { reference: String, detail: String },
    #[error("registry answered HTTP {status} for {url}: {detail}")]
    Status {
        status: u16,
        url: String,
        detail: String,
    },
    #[error("{reference} is an image index without platform {wanted}; it has: {available}")]
    NoPlatform {
        reference: String,
        wanted: String,
        available: String,
    },
    #[error(
        "{reference} has no disk-image layer (signatures, SBOMs, checksums and JSON are skipped); \
         its layers: {layers}"
    )]
    NoDiskLayer { reference: String, layers: String },
    #[error("{what} has digest {digest:?}; only sha256:<64 lower-case hex> is supported")]
    BadDigest { what: String, digest: String },
    #[error("digest mismatch for {what}: expected sha256:{expected}, got sha256:{actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{what} is larger than the {cap}-byte limit")]
    TooLarge { what: String, cap: u64 },
    #[error("{url} sent an unreadable {what}: {message}")]
    Malformed {
        url: String,
        what: &'static str,
        message: String,
    },
    #[error("{url} is a {media_type}, not an OCI image manifest or index")]
    UnsupportedManifest { url: String, media_type: String },
    #[error("invalid platform {0:?} (expected os/architecture[/variant], e.g. linux/arm64)")]
    InvalidPlatform(String),
    /// The outbound policy refused a request (the registry, its token
    /// realm, a redirect).
    #[error(transparent)]
    Refused(#[from] crate::outbound::Refused),
}
