//! `GET /images`: the open JSON listing flash clients read (reference
//! §1.3), one entry per unified catalog row that can be flashed:
//! every row with a remote source or a hashed local file, each offered
//! through this server.

use app::model::{CatalogRow, InspectionState};
use axum::{extract::State, http::HeaderMap, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::links;
use crate::{error::ApiError, state::AppState};

/// One flashable image, as `bty --catalog` and the PXE live environment
/// read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImageEntry {
    /// The row's first name.
    pub name: String,
    /// The image format, or `""` when unknown: what the bytes are once
    /// inspected, until then what the name says.
    pub format: String,
    /// The size in bytes, or 0 when unknown.
    pub size_bytes: i64,
    /// Where to fetch the bytes, always on this server:
    /// `<origin>/images/<sha256>/<name>` when it holds them, else
    /// `<origin>/images/<ref>/<name>`, whose first GET streams them from
    /// the upstream while it fills the cache (verifying a pinned sha,
    /// recording an unknown one).
    pub url: String,
    /// The row's `bty_image_ref`.
    #[serde(rename = "ref")]
    pub image_ref: String,
    /// The first 12 characters of the content SHA-256; null while it is
    /// not known (a remote image not downloaded yet, with no pinned sha).
    /// Always present.
    #[schema(required = true)]
    pub sha_short: Option<String>,
    /// The bytes are held here (a local file or the download cache); false
    /// means the first GET of `url` fetches them from the upstream.
    pub cached: bool,
    /// What a flasher writes, once inspected: the decompressed size (a
    /// qcow2's virtual size), to check that the image fits a disk.
    pub uncompressed_size: Option<u64>,
    /// The SHA-256 of the decompressed bytes, once inspected (none for
    /// qcow2), to verify what was written.
    pub uncompressed_sha256: Option<String>,
    /// `ok` or `pending` (unsafe and corrupt images are not listed).
    pub inspection: InspectionState,
}

impl ImageEntry {
    /// The entry for a row, or `None` when the row is not offered
    /// (see [`links::flash_url`]).
    pub fn for_row(row: &CatalogRow, origin: &str) -> Option<Self> {
        let url = links::flash_url(row, origin)?;
        Some(ImageEntry {
            name: row.name().to_owned(),
            format: row.format.clone().unwrap_or_default(),
            size_bytes: row.size_bytes.unwrap_or(0),
            url,
            image_ref: row.image_ref.clone(),
            sha_short: row
                .sha256
                .as_deref()
                .map(|sha256| sha256.chars().take(12).collect()),
            cached: row.cached,
            uncompressed_size: row.uncompressed_size,
            uncompressed_sha256: row.uncompressed_sha256.clone(),
            inspection: row.inspection,
        })
    }
}

/// `GET /images` (open): every row of the unified catalog a flash client
/// can fetch, in its order, with an absolute URL on this server.
#[utoipa::path(
    get,
    path = "/images",
    tag = "images",
    responses((
        status = 200,
        description = "Every flashable image: each row with a remote source (cached or not, its sha known or not) or a hashed local file, all offered through this server; an image inspected as unsafe or corrupt is left out",
        body = Vec<ImageEntry>,
    ))
)]
pub async fn list_images(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<ImageEntry>>, ApiError> {
    let origin = links::origin(&state.settings, &headers);
    let catalog = state.catalog.view().await?;
    Ok(Json(
        catalog
            .rows
            .iter()
            .filter_map(|row| ImageEntry::for_row(row, &origin))
            .collect(),
    ))
}
