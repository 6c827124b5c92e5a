//! OCI manifests and image indexes as far as resolution needs them, and the
//! two choices made from them: which platform of an index, and which layer
//! of a manifest holds the disk image.

use std::{collections::HashMap, fmt};

use serde::Deserialize;

/// Media types of manifests and indexes (OCI and Docker v2).
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The short-lived OCI 1.1 release candidate artifact manifest (`blobs`,
/// not `layers`); early ORAS releases pushed it.
pub const OCI_ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";

/// Everything a manifest GET may accept.
pub const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.artifact.manifest.v1+json";

/// The annotation ORAS puts the file name in.
pub const TITLE: &str = "org.opencontainers.image.title";

/// Layers whose title ends so are signatures, SBOMs or checksums.
const SKIPPED_TITLE_SUFFIXES: [&str; 9] = [
    ".sha256", ".sha512", ".sig", ".asc", ".pem", ".cert", ".sbom", ".att", ".json",
];
/// Layers whose media type contains one of these are not disk images.
const SKIPPED_MEDIA_TYPE_PARTS: [&str; 12] = [
    "cosign",
    "sigstore",
    "in-toto",
    "dsse",
    "sbom",
    "spdx",
    "cyclonedx",
    "signature",
    "pgp",
    "x-pem-file",
    "x509",
    "helm",
];

/// A manifest or an index: only the fields resolution reads.
#[derive(Debug, Deserialize)]
pub struct Document {
    #[serde(rename = "mediaType")]
    pub media_type: Option<String>,
    pub manifests: Option<Vec<Descriptor>>,
    pub layers: Option<Vec<Descriptor>>,
    pub blobs: Option<Vec<Descriptor>>,
}

/// What a manifest turned out to be.
pub enum Kind {
    Index(Vec<Descriptor>),
    Manifest(Vec<Descriptor>),
}

impl Document {
    /// Index or manifest, by the document's `mediaType`, else a known
    /// `Content-Type`, else its shape. `Err` carries the unknown media type.
    pub fn kind(self, content_type: Option<&str>) -> Result<Kind, String> {
        let known = [
            OCI_INDEX,
            DOCKER_MANIFEST_LIST,
            OCI_MANIFEST,
            DOCKER_MANIFEST,
            OCI_ARTIFACT_MANIFEST,
        ];
        let media_type = self.media_type.clone().or_else(|| {
            content_type
                .map(|c| c.split(';').next().unwrap_or("").trim())
                .filter(|c| known.contains(c))
                .map(str::to_owned)
        });
        match media_type.as_deref() {
            Some(OCI_INDEX | DOCKER_MANIFEST_LIST) => {
                Ok(Kind::Index(self.manifests.unwrap_or_default()))
            }
            Some(OCI_MANIFEST | DOCKER_MANIFEST) => {
                Ok(Kind::Manifest(self.layers.unwrap_or_default()))
            }
            Some(OCI_ARTIFACT_MANIFEST) => Ok(Kind::Manifest(self.blobs.unwrap_or_default())),
            Some(other) => Err(other.to_owned()),
            None => match (self.manifests, self.layers, self.blobs) {
                (Some(manifests), None, _) => Ok(Kind::Index(manifests)),
                (_, Some(layers), _) | (_, None, Some(layers)) => Ok(Kind::Manifest(layers)),
                (None, None, None) => Err("(none)".to_owned()),
            },
        }
    }
}

/// An OCI content descriptor.
#[derive(Clone, Debug, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// The file name ORAS recorded, if any.
    pub fn title(&self) -> Option<&str> {
        self.annotations.get(TITLE).map(String::as_str)
    }

    /// True unless the title or media type says signature, SBOM, checksum
    /// or JSON metadata.
    fn may_be_disk_image(&self) -> bool {
        let title = self.title().unwrap_or("").to_ascii_lowercase();
        let media_type = self.media_type.to_ascii_lowercase();
        !(SKIPPED_TITLE_SUFFIXES.iter().any(|s| title.ends_with(s))
            || media_type.ends_with("json")
            || SKIPPED_MEDIA_TYPE_PARTS
                .iter()
                .any(|p| media_type.contains(p)))
    }

    /// `title (media type, size B)`, or the digest when there is no title.
    fn describe(&self) -> String {
        let name = self.title().unwrap_or(&self.digest);
        let media_type = if self.media_type.is_empty() {
            "no media type"
        } else {
            &self.media_type
        };
        format!("{name} ({media_type}, {} B)", self.size)
    }
}

/// The largest layer that may be a disk image, or the list of all layers
/// for the error message.
pub fn choose_disk_layer(layers: &[Descriptor]) -> Result<&Descriptor, String> {
    layers
        .iter()
        .filter(|layer| layer.may_be_disk_image())
        .max_by_key(|layer| layer.size)
        .ok_or_else(|| {
            if layers.is_empty() {
                "none".to_owned()
            } else {
                layers
                    .iter()
                    .map(Descriptor::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        })
}

/// A platform as an index lists it.
#[derive(Clone, Debug, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) if !variant.is_empty() => write!(f, "/{variant}"),
            _ => Ok(()),
        }
    }
}

impl Platform {
    /// Parses `os/architecture[/variant]`; a bare architecture means Linux.
    pub fn parse(text: &str) -> Option<Platform> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let valid = |p: &&str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        };
        if !parts.iter().all(valid) {
            return None;
        }
        let (os, architecture, variant) = match parts.as_slice() {
            [architecture] => ("linux", *architecture, None),
            [os, architecture] => (*os, *architecture, None),
            [os, architecture, variant] => (*os, *architecture, Some(variant.to_string())),
            _ => return None,
        };
        Some(Platform {
            os: os.to_ascii_lowercase(),
            architecture: architecture.to_ascii_lowercase(),
            variant: variant.map(|v| v.to_ascii_lowercase()),
        })
    }

    /// The platform this server runs on, in OCI (Go) names.
    pub fn host() -> Platform {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            "loongarch64" => "loong64",
            other => other,
        };
        Platform {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant: None,
        }
    }

    /// True when `listed` is this platform; a missing wanted variant matches any.
    fn matches(&self, listed: &Platform) -> bool {
        self.os.eq_ignore_ascii_case(&listed.os)
            && self.architecture.eq_ignore_ascii_case(&listed.architecture)
            && self.variant.as_deref().is_none_or(|wanted| {
                listed
                    .variant
                    .as_deref()
                    .is_some_and(|v| v.eq_ignore_ascii_case(wanted))
            })
    }
}

/// The index entry for `wanted`, or the platforms the index has. An index
/// of one entry without a platform (an ORAS artifact index) is that entry.
pub fn choose_platform<'a>(
    manifests: &'a [Descriptor],
    wanted: &Platform,
) -> Result<&'a Descriptor, String> {
    if let [only] = manifests {
        if only.platform.is_none() {
            return Ok(only);
        }
    }
    manifests
        .iter()
        .find(|m| m.platform.as_ref().is_some_and(|p| wanted.matches(p)))
        .ok_or_else(|| {
            let listed: Vec<String> = manifests
                .iter()
                .filter_map(|m| m.platform.as_ref())
                // buildx attestation manifests, not platforms
                .filter(|p| p.os != "unknown")
                .map(Platform::to_string)
                .collect();
            if listed.is_empty() {
                "no platforms".to_owned()
            } else {
                listed.join(", ")
            }
        })
}

#[cfg(test)]
mod tests;
