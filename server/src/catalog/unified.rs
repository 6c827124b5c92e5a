//! The unified catalog: every catalog row, collapsed when rows share a
//! content SHA-256 or a `bty_image_ref`, in the reference's order (rows with
//! a known SHA first, each group by first name).

use std::{collections::HashMap, path::Path};

use app::model::{CatalogRow, CatalogView, Source, SourceKind};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, QueryOrder};

use super::inspections::{self, Finding};
use crate::{
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    inspect::{format_mismatch, Format},
};

/// The unified catalog as it is in the database now.
pub async fn load(
    db: &DatabaseConnection,
    image_root: &Path,
    cache_dir: &Path,
) -> Result<CatalogView, DbErr> {
    let entries = CatalogEntries::find()
        .order_by_asc(catalog_entry::Column::AddedAt)
        .all(db)
        .await?;
    let findings = inspections::all(db).await?;
    let cache_dir = cache_dir.to_owned();
    let image_root_owned = image_root.to_owned();
    // Checking the cache touches the file system: keep it off the executor.
    let rows = tokio::task::spawn_blocking(move || {
        let mut rows = merge(entries, &image_root_owned, |sha| {
            cache_dir.join(sha).is_file()
        });
        for row in &mut rows {
            if let Some(finding) = row.sha256.as_ref().and_then(|sha| findings.get(sha)) {
                apply_finding(row, finding);
            }
        }
        rows
    })
    .await
    .map_err(|error| DbErr::Custom(format!("catalog merge failed: {error}")))?;
    Ok(CatalogView {
        image_root: image_root.display().to_string(),
        rows,
    })
}

/// What the row's bytes were found to be: the format becomes theirs, a
/// name saying otherwise gets a warning.
pub fn apply_finding(row: &mut CatalogRow, finding: &Finding) {
    if let Some(found) = Format::from_catalog_name(&finding.format) {
        row.format_warning = format_mismatch(row.name(), found);
    }
    row.format = Some(finding.format.clone());
    row.uncompressed_size = finding
        .uncompressed_size
        .and_then(|size| u64::try_from(size).ok());
    row.uncompressed_sha256 = finding.uncompressed_sha256.clone();
    row.inspection = finding.state;
    row.inspection_reason = finding.reason.clone();
}

/// Merges entries (oldest first) into unified rows. `is_cached` tells
/// whether the download cache holds a SHA-256.
pub fn merge(
    entries: Vec<catalog_entry::Model>,
    image_root: &Path,
    is_cached: impl Fn(&str) -> bool,
) -> Vec<CatalogRow> {
    let mut rows: Vec<CatalogRow> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for entry in entries {
        let kind = entry.source_kind;
        let (location, cached) = match kind {
            SourceKind::Local => (image_root.join(&entry.name).display().to_string(), true),
            _ => {
                let cached = entry.disk_image_sha.as_deref().is_some_and(&is_cached);
                (entry.src.clone(), cached)
            }
        };
        // A remote entry is rolling unless a catalog or operator pinned its sha.
        let rolling =
            kind != SourceKind::Local && (entry.disk_image_sha.is_none() || entry.sha_observed);
        let source = Source { kind, location };
        let sha_key = entry
            .disk_image_sha
            .as_ref()
            .map(|sha| format!("sha:{sha}"));
        let ref_key = format!("ref:{}", entry.bty_image_ref);
        let existing = sha_key
            .as_ref()
            .and_then(|key| by_key.get(key))
            .or_else(|| by_key.get(&ref_key))
            .copied();
        let index = match existing {
            Some(index) => {
                let row = &mut rows[index];
                if row.sha256.is_none() {
                    row.sha256 = entry.disk_image_sha.clone();
                }
                if row.format.is_none() {
                    row.format = entry.format.clone();
                }
                if row.size_bytes.is_none() {
                    row.size_bytes = entry.size_bytes;
                }
                if !row.names.contains(&entry.name) {
                    row.names.push(entry.name.clone());
                }
                if !row.sources.contains(&source) {
                    row.sources.push(source);
                }
                row.cached |= cached;
                row.rolling |= rolling;
                row.keep_cached |= entry.keep_cached;
                index
            }
            None => {
                rows.push(CatalogRow {
                    image_ref: entry.bty_image_ref.clone(),
                    sha256: entry.disk_image_sha.clone(),
                    names: vec![entry.name.clone()],
                    format: entry.format.clone(),
                    size_bytes: entry.size_bytes,
                    sources: vec![source],
                    cached,
                    rolling,
                    keep_cached: entry.keep_cached,
                    uncompressed_size: None,
                    uncompressed_sha256: None,
                    inspection: Default::default(),
                    inspection_reason: None,
                    format_warning: None,
                });
                rows.len() - 1
            }
        };
        by_key.insert(ref_key, index);
        if let Some(sha) = &rows[index].sha256 {
            by_key.insert(format!("sha:{sha}"), index);
        }
    }
    rows.sort_by(|a, b| (a.sha256.is_none(), a.name()).cmp(&(b.sha256.is_none(), b.name())));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, src: &str, kind: SourceKind, sha: Option<&str>) -> catalog_entry::Model {
        catalog_entry::Model {
            bty_image_ref: crate::catalog::identity::image_ref_for_src(src).unwrap(),
            src: src.to_owned(),
            disk_image_sha: sha.map(str::to_owned),
            name: name.to_owned(),
            sha_url: None,
            format: crate::catalog::format::detect_format(name).map(str::to_owned),
            size_bytes: Some(10),
            description: None,
            added_at: "2026-01-01T00:00:00.000000+00:00".into(),
            source_kind: kind,
            file_mtime_ns: None,
            hashed_size: None,
            hashed_mtime_ns: None,
            sha_observed: false,
            keep_cached: false,
            last_used_at: None,
            upstream_etag: None,
            upstream_last_modified: None,
            upstream_digest: None,
        }
    }

    #[test]
    fn a_local_file_is_one_cached_row_with_only_a_local_source() {
        let rows = merge(
            vec![entry(
                "demo.qcow2",
                "file://demo.qcow2",
                SourceKind::Local,
                Some(&"a".repeat(64)),
            )],
            Path::new("/images"),
            |_| false,
        );
        assert_eq!(rows.len(), 1);
        assert!(rows[0].cached);
        assert_eq!(
            rows[0].sources,
            vec![Source {
                kind: SourceKind::Local,
                location: "/images/demo.qcow2".into()
            }]
        );
    }

    #[test]
    fn entries_sharing_a_sha_collapse_into_one_row_with_both_names() {
        let sha = "b".repeat(64);
        let rows = merge(
            vec![
                entry(
                    "local.img",
                    "file://local.img",
                    SourceKind::Local,
                    Some(&sha),
                ),
                entry(
                    "remote.img",
                    "https://h/remote.img",
                    SourceKind::Manifest,
                    Some(&sha),
                ),
            ],
            Path::new("/images"),
            |_| false,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].names, vec!["local.img", "remote.img"]);
        assert_eq!(rows[0].sources.len(), 2);
        assert!(rows[0].cached);
    }

    #[test]
    fn hashed_rows_come_first_then_unhashed_each_by_name() {
        let rows = merge(
            vec![
                entry(
                    "z.img",
                    "file://z.img",
                    SourceKind::Local,
                    Some(&"c".repeat(64)),
                ),
                entry("b.img", "file://b.img", SourceKind::Local, None),
                entry("a.img", "file://a.img", SourceKind::Local, None),
                entry(
                    "m.img",
                    "file://m.img",
                    SourceKind::Local,
                    Some(&"d".repeat(64)),
                ),
            ],
            Path::new("/images"),
            |_| false,
        );
        let names: Vec<_> = rows.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["m.img", "z.img", "a.img", "b.img"]);
    }

    #[test]
    fn a_remote_row_is_cached_only_when_the_cache_holds_its_sha() {
        let sha = "e".repeat(64);
        let rows = merge(
            vec![entry(
                "r.img",
                "https://h/r.img",
                SourceKind::Url,
                Some(&sha),
            )],
            Path::new("/images"),
            |cached| cached == sha,
        );
        assert!(rows[0].cached);
        assert_eq!(rows[0].sources[0].kind, SourceKind::Url);
    }

    #[test]
    fn remote_rows_without_a_given_sha_are_rolling_pinned_and_local_ones_not() {
        let (a, b, c) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        let mut observed = entry("o.img", "https://h/o.img", SourceKind::Url, Some(&b));
        observed.sha_observed = true;
        let rows = merge(
            vec![
                entry("u.img", "https://h/u.img", SourceKind::Url, None),
                observed,
                entry("p.img", "https://h/p.img", SourceKind::Manifest, Some(&a)),
                entry("l.img", "file://l.img", SourceKind::Local, Some(&c)),
            ],
            Path::new("/images"),
            |_| false,
        );
        let rolling = |name: &str| rows.iter().find(|r| r.name() == name).unwrap().rolling;
        assert!(rolling("u.img") && rolling("o.img"));
        assert!(!rolling("p.img") && !rolling("l.img"));
    }
}
