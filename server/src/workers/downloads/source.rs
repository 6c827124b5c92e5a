//! What to GET for a remote catalog entry: the URL of an `http(s)://`
//! entry, or the blob of an `oras://` entry's disk layer (resolved again
//! now, so a rolling tag's new digest is seen), with the SHA-256 the bytes
//! must have when it is known beforehand. An Update asks first: an
//! `oras://` tag whose manifest digest is the one of the cached bytes (a
//! HEAD, which registries do not count as a pull) is unchanged, and an
//! `http(s)://` GET carries the validators of the cached bytes, so an
//! upstream that has nothing new answers 304.

use crate::{
    audit::Actor,
    catalog::cache_marks::UpstreamMarks,
    db::entity::catalog_entry,
    oras::{OrasClient, OrasError, OrasRef},
    outbound::{self, events::purpose},
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
    /// An Update's validators of the cached bytes (`If-None-Match`,
    /// `If-Modified-Since`): a 304 means nothing changed.
    pub unless: Option<UpstreamMarks>,
    /// `oras://`: the digest of the manifest the layer was found through,
    /// kept for the next Update to ask with.
    pub manifest_digest: Option<String>,
}

/// What resolving found.
#[derive(Debug)]
pub enum Resolved {
    Fetch(Target),
    /// An Update's question answered without a transfer: nothing changed,
    /// and how that is known (`manifest digest`, `layer digest`).
    Unchanged(&'static str),
}

/// Resolves the entry to its target. `unless` are the validators of the
/// entry's cached bytes, for an Update to ask with.
pub async fn resolve(
    core: &Core,
    entry: &catalog_entry::Model,
    unless: Option<UpstreamMarks>,
) -> Result<Resolved, String> {
    let pinned = is_pinned(entry)
        .then(|| entry.disk_image_sha.clone())
        .flatten();
    let Some(rest) = entry.src.strip_prefix("oras://") else {
        let unless = unless.filter(|marks| marks.etag.is_some() || marks.last_modified.is_some());
        return Ok(Resolved::Fetch(Target {
            url: entry.src.clone(),
            authorization: None,
            expected: pinned,
            size: None,
            unless,
            manifest_digest: None,
        }));
    };
    let reference = OrasRef::parse(rest).map_err(|why| format!("invalid oras reference: {why}"))?;
    let client = OrasClient::new(&core.settings, core.http.clone());
    if let Some(known) = unless.and_then(|marks| marks.digest) {
        match client.manifest_digest(&reference).await {
            Ok(Some(now)) if now == known => return Ok(Resolved::Unchanged("manifest digest")),
            Ok(_) => {}
            // The GET below says what is wrong, or works after all.
            Err(error) => tracing::info!(%error, src = entry.src, "manifest HEAD failed"),
        }
    }
    let layer = match client.resolve(&reference, None).await {
        Ok(layer) => layer,
        Err(error) => {
            if let OrasError::Refused(refused) = &error {
                outbound::events::refused(
                    &core.db,
                    &core.live,
                    &Actor::system(),
                    purpose::DOWNLOAD,
                    refused,
                )
                .await;
            }
            return Err(format!("could not resolve {}: {error}", entry.src));
        }
    };
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
    Ok(Resolved::Fetch(Target {
        url,
        authorization: layer.authorization,
        expected: Some(expected),
        size,
        unless: None,
        manifest_digest: layer.manifest_digest,
    }))
}
