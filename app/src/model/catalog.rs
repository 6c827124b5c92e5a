//! The unified catalog: rows, their sources, and the filtered pages of it
//! the Images page and `GET /catalog/view` show.

use serde::{Deserialize, Serialize};

/// Where a catalog row's bytes or metadata come from; on the server also
/// the type of the `catalog_entries.source_kind` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A file in the image root.
    Local,
    /// An image URL an operator added.
    Url,
    /// An entry imported from a `catalog.toml`.
    Manifest,
}

impl SourceKind {
    /// The lowercase name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Local => "local",
            SourceKind::Url => "url",
            SourceKind::Manifest => "manifest",
        }
    }
}

/// What inspecting an image's bytes found; on the server also the type
/// of the `image_inspections.state` column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum InspectionState {
    /// Offered to flash clients.
    Ok,
    /// A qcow2 that would read host files or needs a key: never offered.
    Unsafe,
    /// Data that does not decompress (or a malformed header): never offered.
    Corrupt,
    /// Not inspected yet (its bytes not held, or the job not run).
    #[default]
    Pending,
}

impl InspectionState {
    /// The lowercase name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            InspectionState::Ok => "ok",
            InspectionState::Unsafe => "unsafe",
            InspectionState::Corrupt => "corrupt",
            InspectionState::Pending => "pending",
        }
    }

    /// Unsafe or corrupt: flash clients are never offered the image.
    pub fn is_refused(self) -> bool {
        matches!(self, InspectionState::Unsafe | InspectionState::Corrupt)
    }
}

/// One origin of a unified catalog row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Source {
    pub kind: SourceKind,
    /// The absolute path of a local file, or the `src` URL of a remote entry.
    pub location: String,
}

/// One row of the unified catalog: every entry that shares a content SHA-256
/// or a `bty_image_ref` collapses into one. `Hash`: the catalog table keys
/// its rows by their whole content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogRow {
    #[serde(rename = "ref")]
    pub image_ref: String,
    pub sha256: Option<String>,
    pub names: Vec<String>,
    pub format: Option<String>,
    pub size_bytes: Option<i64>,
    pub sources: Vec<Source>,
    /// The bytes are held here: a local file, or a cached download.
    pub cached: bool,
    /// A remote entry whose content is not pinned by a given SHA-256 (a
    /// rolling tag or URL): Update re-resolves and re-downloads it.
    #[serde(default)]
    pub rolling: bool,
    /// An operator pinned it in the download cache: its cached bytes are
    /// never evicted to make room (not a pinned SHA-256, which fixes the
    /// content; see `rolling`).
    #[serde(default)]
    pub keep_cached: bool,
    /// The size of what a flasher writes (decompressed; a qcow2's virtual
    /// size), once inspected.
    pub uncompressed_size: Option<u64>,
    /// The SHA-256 of the decompressed bytes, once inspected (none for
    /// qcow2). Server side only: the page never shows it, and the browser
    /// bundle is kept small (its JSON reader skips the key).
    #[cfg(feature = "ssr")]
    pub uncompressed_sha256: Option<String>,
    /// What inspecting the bytes found.
    #[serde(default)]
    pub inspection: InspectionState,
    /// Why an image is unsafe or corrupt.
    pub inspection_reason: Option<String>,
    /// The name says another format than the bytes: `named .img, contains gzip`.
    pub format_warning: Option<String>,
}

impl CatalogRow {
    /// The display name: the first of the row's names.
    pub fn name(&self) -> &str {
        self.names.first().map(String::as_str).unwrap_or("")
    }

    /// True when one of the row's sources is a file in the image root.
    pub fn is_local(&self) -> bool {
        self.sources.iter().any(|s| s.kind == SourceKind::Local)
    }

    /// The first remote (operator-added or imported) source, if any.
    pub fn remote_source(&self) -> Option<&Source> {
        self.sources.iter().find(|s| s.kind != SourceKind::Local)
    }
}

/// The unified catalog as the Images page and the live stream carry it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogView {
    pub image_root: String,
    pub rows: Vec<CatalogRow>,
}

/// Rows per page of the catalog table: a page stays small whatever the
/// catalog's size.
pub const CATALOG_PAGE_SIZE: usize = 100;

impl CatalogRow {
    /// True when the filter text matches a name, the start of the SHA-256,
    /// a source location or the format (case-insensitive); empty matches all.
    pub fn matches(&self, query: &str) -> bool {
        let query = query.trim().to_lowercase();
        if query.is_empty() {
            return true;
        }
        let contains = |text: &str| text.to_lowercase().contains(&query);
        self.names.iter().any(|n| contains(n))
            || self
                .sha256
                .as_deref()
                .is_some_and(|sha| sha.starts_with(&query))
            || self.sources.iter().any(|s| contains(&s.location))
            || self.format.as_deref().is_some_and(contains)
    }
}

/// One page of the unified catalog, after a filter (`GET /catalog/view`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogPage {
    pub image_root: String,
    /// Rows in the whole catalog.
    pub total: usize,
    /// Rows the filter matched.
    pub matched: usize,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
    pub query: String,
    pub rows: Vec<CatalogRow>,
}

impl CatalogPage {
    /// The page `page` (1-based, clamped) of the rows of `view` matching `query`.
    pub fn of(view: &CatalogView, query: &str, page: usize) -> Self {
        let matching: Vec<&CatalogRow> =
            view.rows.iter().filter(|row| row.matches(query)).collect();
        let pages = matching.len().div_ceil(CATALOG_PAGE_SIZE).max(1);
        let page = page.clamp(1, pages);
        CatalogPage {
            image_root: view.image_root.clone(),
            total: view.rows.len(),
            matched: matching.len(),
            page,
            per_page: CATALOG_PAGE_SIZE,
            query: query.to_owned(),
            rows: matching
                .into_iter()
                .skip((page - 1) * CATALOG_PAGE_SIZE)
                .take(CATALOG_PAGE_SIZE)
                .cloned()
                .collect(),
        }
    }

    /// How many pages the filtered rows fill.
    pub fn pages(&self) -> usize {
        self.matched.div_ceil(self.per_page.max(1)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_row(name: &str, sha: Option<&str>, location: &str) -> CatalogRow {
        CatalogRow {
            image_ref: format!("ref-{name}"),
            sha256: sha.map(str::to_owned),
            names: vec![name.to_owned()],
            format: Some("img.gz".into()),
            size_bytes: None,
            sources: vec![Source {
                kind: SourceKind::Manifest,
                location: location.to_owned(),
            }],
            cached: false,
            rolling: false,
            ..Default::default()
        }
    }

    #[test]
    fn the_filter_matches_names_sha_prefixes_sources_and_formats() {
        let row = catalog_row(
            "Debian 12",
            Some("abcdef"),
            "https://mirror.example/d.img.gz",
        );
        for query in ["debian", "DEB", "abc", "mirror.example", "img.gz", "", "  "] {
            assert!(row.matches(query), "{query:?}");
        }
        for query in ["ubuntu", "def", "qcow2"] {
            assert!(!row.matches(query), "{query:?}");
        }
    }

    #[test]
    fn pages_hold_at_most_a_page_of_matching_rows() {
        let rows = (0..250)
            .map(|i| catalog_row(&format!("image-{i:03}"), None, "https://h/x"))
            .collect();
        let view = CatalogView {
            image_root: "/r".into(),
            rows,
        };
        let first = CatalogPage::of(&view, "", 1);
        assert_eq!(
            (first.total, first.matched, first.rows.len(), first.pages()),
            (250, 250, 100, 3)
        );
        let last = CatalogPage::of(&view, "", 99);
        assert_eq!(
            (last.page, last.rows.len()),
            (3, 50),
            "a page past the end is the last"
        );
        let filtered = CatalogPage::of(&view, "image-01", 1);
        assert_eq!(filtered.matched, 10);
        assert_eq!(filtered.rows[0].names[0], "image-010");
    }
}
