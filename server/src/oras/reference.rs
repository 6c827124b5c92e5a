//! The `oras://` reference grammar: `host[:port]/repo(:tag|@sha256:hex)`,
//! parsed once for identity, resolution and downloads.

use crate::digest::is_sha256_hex;

/// A parsed `oras://host[:port]/repo(:tag|@sha256:hex)` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrasRef {
    pub host: String,
    pub repository: String,
    pub reference: OrasReference,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrasReference {
    Tag(String),
    Digest(String),
}

impl OrasRef {
    /// Parses what follows `oras://`. Host and repository are lower-cased.
    pub fn parse(rest: &str) -> Result<Self, &'static str> {
        let (name, reference) = if let Some((name, digest)) = rest.split_once("@sha256:") {
            if !is_sha256_hex(digest) {
                return Err("digest must be sha256:<64 lower-case hex>");
            }
            (name, OrasReference::Digest(digest.to_owned()))
        } else {
            let slash = rest.find('/').ok_or("missing repository")?;
            let colon = rest[slash..]
                .rfind(':')
                .map(|i| i + slash)
                .ok_or("missing :tag or @sha256:digest")?;
            let tag = &rest[colon + 1..];
            let tag_ok = !tag.is_empty()
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if !tag_ok {
                return Err("tag must match [A-Za-z0-9._-]+");
            }
            (&rest[..colon], OrasReference::Tag(tag.to_owned()))
        };
        let name = name.to_ascii_lowercase();
        let (host, repository) = name.split_once('/').ok_or("missing repository")?;
        let (hostname, port) = host.split_once(':').unwrap_or((host, ""));
        let host_ok = starts_alphanumeric_within(hostname, b".-")
            && port.bytes().all(|b| b.is_ascii_digit())
            && (port.is_empty() != host.contains(':'));
        if !host_ok {
            return Err("host must match [a-zA-Z0-9][a-zA-Z0-9.-]*[:port]");
        }
        let repo_ok = starts_alphanumeric_within(repository, b"/_.-") && repository.contains('/');
        if !repo_ok {
            return Err("repository must match [a-z0-9][a-z0-9/_.-]* and contain '/'");
        }
        Ok(OrasRef {
            host: host.to_owned(),
            repository: repository.to_owned(),
            reference,
        })
    }
}

impl std::fmt::Display for OrasRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.reference {
            OrasReference::Tag(tag) => write!(f, "oras://{}/{}:{tag}", self.host, self.repository),
            OrasReference::Digest(hex) => {
                write!(f, "oras://{}/{}@sha256:{hex}", self.host, self.repository)
            }
        }
    }
}

/// `text` starts with an ASCII letter or digit and holds only those and
/// the bytes of `also`.
fn starts_alphanumeric_within(text: &str, also: &[u8]) -> bool {
    text.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || also.contains(&b))
}
