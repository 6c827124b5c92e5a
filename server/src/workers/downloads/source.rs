//! Which catalog entry a request names, and what to GET for it: the URL of
//! an `http(s)://` entry, or the blob of an `oras://` entry's disk layer
//! (resolved again now, so a rolling tag's new digest is seen), with the
//! SHA-256 the bytes must have when it is known beforehand.

use app::model::SourceKind;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::{
    catalog::identity::{is_sha256_hex, OrasRef},
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    oras::OrasClient,
    state::AppState,
};

/// How a name or ref matched the catalog.
pub enum Lookup {
    Remote(Box<catalog_entry::Model>),
    /// Only a file in the image root has that name.
    LocalOnly,
    Missing,
}

/// The remote entry `key` names: a `bty_image_ref`, else the first remote
/// entry (oldest) with that name.
pub async fn find_entry(db: &DatabaseConnection, key: &str) -> Result<Lookup, DbErr> {
    if is_sha256_hex(key) {
        if let Some(row) = CatalogEntries::find_by_id(key.to_owned()).one(db).await? {
            if row.source_kind != SourceKind::Local.as_str() {
                return Ok(Lookup::Remote(Box::new(row)));
            }
        }
    }
    let rows = CatalogEntries::find()
        .filter(catalog_entry::Column::Name.eq(key))
        .order_by_asc(catalog_entry::Column::AddedAt)
        .all(db)
        .await?;
    let local = rows
        .iter()
        .any(|row| row.source_kind == SourceKind::Local.as_str());
    match rows
        .into_iter()
        .find(|row| row.source_kind != SourceKind::Local.as_str())
    {
        Some(row) => Ok(Lookup::Remote(Box::new(row))),
        None if local => Ok(Lookup::LocalOnly),
        None => Ok(Lookup::Missing),
    }
}

/// The entry a job downloads, by its source.
pub async fn entry_by_src(
    db: &DatabaseConnection,
    src: &str,
) -> Result<Option<catalog_entry::Model>, DbErr> {
    CatalogEntries::find()
        .filter(catalog_entry::Column::Src.eq(src))
        .one(db)
        .await
}

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
pub async fn target(state: &AppState, entry: &catalog_entry::Model) -> Result<Target, String> {
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
    let client = OrasClient::new(&state.settings, state.http.clone());
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
