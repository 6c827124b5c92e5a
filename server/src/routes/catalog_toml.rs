//! `GET /catalog.toml` (open, reference §1.5): the unified catalog
//! as a portable `catalog.toml` another bty can import, listing every row
//! a flash client could fetch whose SHA-256 is known (the `bty` client
//! requires one), with the same URL on this server `GET /images` gives it.
//! What inspection found rides along as extra keys (`uncompressed_size`,
//! `uncompressed_sha256`, `inspection`), which clients ignore; an unsafe
//! or corrupt image is never listed.

use std::collections::HashSet;

use app::model::CatalogRow;
use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::IntoResponse,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    catalog::manifest::{self, ManifestEntry},
    error::ApiError,
    routes::images::links,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_catalog_toml))
}

/// `GET /catalog.toml`: `application/toml`, version 1.
#[utoipa::path(
    get,
    path = "/catalog.toml",
    tag = "catalog",
    responses((
        status = 200,
        description = "A version 1 `catalog.toml` of every fetchable row whose SHA-256 is known and that was not found unsafe or corrupt, each `src` on this server: the sha URL when the bytes are held here, else the stream-through URL of its `ref`. Extra keys per image: `uncompressed_size` and `uncompressed_sha256` once inspected, and `inspection` (`ok` or `pending`)",
        content_type = "application/toml",
        body = String,
    ))
)]
async fn get_catalog_toml(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let origin = links::origin(&state.settings, &headers);
    let catalog = state.catalog.view().await?;
    let body = manifest::write(&manifest_entries(&catalog.rows, &origin))
        .map_err(|error| ApiError::Internal(error.into()))?;
    Ok(([(header::CONTENT_TYPE, "application/toml")], body))
}

/// The manifest entries for unified rows, in their order: rows without a
/// SHA-256 or a fetchable location are left out.
fn manifest_entries(rows: &[CatalogRow], origin: &str) -> Vec<ManifestEntry> {
    let mut names = HashSet::new();
    rows.iter()
        .filter_map(|row| {
            let sha256 = row.sha256.clone()?;
            let src = links::flash_url(row, origin)?;
            // Names must be unique in a catalog.toml (its parser refuses
            // duplicates). Two rows with different content can share a
            // first name; the first one, in catalog order, keeps it and
            // later ones are left out.
            if !names.insert(row.name()) {
                return None;
            }
            Some(ManifestEntry {
                name: row.name().to_owned(),
                src,
                sha256: Some(sha256),
                format: row.format.clone(),
                size_bytes: row.size_bytes,
                description: None,
                uncompressed_size: row.uncompressed_size,
                uncompressed_sha256: row.uncompressed_sha256.clone(),
                inspection: Some(row.inspection.as_str().to_owned()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use app::model::{Source, SourceKind};

    use super::*;

    fn row(name: &str, sha: Option<char>, cached: bool, location: &str) -> CatalogRow {
        CatalogRow {
            image_ref: "r".repeat(64),
            sha256: sha.map(|c| c.to_string().repeat(64)),
            names: vec![name.into()],
            format: None,
            size_bytes: None,
            sources: vec![Source {
                kind: SourceKind::Manifest,
                location: location.into(),
            }],
            cached,
            rolling: false,
            ..Default::default()
        }
    }

    #[test]
    fn only_hashed_fetchable_rows_are_written_on_this_origin_and_a_repeated_name_keeps_the_first() {
        let rows = [
            row("a.img", Some('a'), true, "https://up/a.img"),
            row("a.img", Some('b'), false, "https://up/other-a.img"),
            row("unhashed.img", None, false, "https://up/u.img"),
            row("file-only.img", Some('c'), false, "file://f.img"),
            row("remote.img", Some('d'), false, "https://up/r.img"),
        ];
        let entries = manifest_entries(&rows, "http://h");
        let written: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.name.as_str(), e.src.as_str()))
            .collect();
        let a_url = format!("http://h/images/{}/a.img", "a".repeat(64));
        let remote_url = format!("http://h/images/{}/remote.img", "r".repeat(64));
        assert_eq!(
            written,
            [
                ("a.img", a_url.as_str()),
                ("remote.img", remote_url.as_str())
            ]
        );
        let text = manifest::write(&entries).expect("written");
        assert_eq!(
            manifest::parse(text.as_bytes(), "<test>")
                .expect("parses")
                .entries
                .len(),
            2
        );
    }
}
