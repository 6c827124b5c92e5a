//! What to GET for a remote catalog entry: the URL of an `http(s)://`
//! entry, or the blob of an `oras://` entry's disk layer (resolved again
//! now, so a rolling tag's new digest is seen), with the SHA-256 the bytes
//! must have when it is known beforehand.

use crate::{
    db::entity::catalog_entry,
    oras::{OrasClient, OrasRef},
    plumbing::Core,
};

/// A catalog or operator gave this entry's sha: its content is fixed.
pub fn is_pinned(entry: &catalog_entry::Model) -> bool {
    entry.disk_image_sha.is_some() && !entry.sha_observed
}

/// What to GET.
#[derive(Clone, Debug)]
pub struct Target {
    pub url: String,
    /// `Authorization` for a registry blob.
    pub authorization: Option<String>,
    /// The SHA-256 the bytes must have: the pinned sha, or the registry's
    /// layer digest (D21). `None` for an unpinned URL.
    pub expected: Option<String>,
    /// The upstream's declared size, when known beforehand.
    pub size: Option<u64>,
}

/// Resolves the entry to its target.
pub async fn target(core: &Core, entry: &catalog_entry::Model) -> Result<Target, String> {
    let pinned = is_pinned(entry)
        .then(|| entry.disk_image_sha.clone())
        .flatten();
    let Some(rest) = entry.src.strip_prefix("oras://") else {
        return Ok(Target {
            url: entry.src.clone(),
            authorization: None,
            expected: pinned,
            size: None,
        });
    };
    let reference = OrasRef::parse(rest).map_err(|why| format!("invalid oras reference: {why}"))?;
    let client = OrasClient::new(&core.settings, core.http.clone());
    let layer = client
        .resolve(&reference, None)
        .await
        .map_err(|error| format!("could not resolve {}: {error}", entry.src))?;
    let mut url = layer.blob_url.clone();
    let mut size = Some(layer.size);
    let expected = match pinned {
        // A pinned digest is fetched as such, even if a tag moved since.
        Some(sha) if sha != layer.digest_hex => {
            if let Some(base) = url.strip_suffix(&layer.digest_hex) {
                url = format!("{base}{sha}");
            }
            size = None;
            sha
        }
        _ => layer.digest_hex.clone(),
    };
    Ok(Target {
        url,
        authorization: layer.authorization,
        expected: Some(expected),
        size,
    })
}
