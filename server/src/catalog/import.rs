//! Importing a parsed `catalog.toml`: every entry is upserted by its source
//! (its `bty_image_ref`), so a re-import updates name, sha, format, size and
//! description instead of keeping stale values (D20). One
//! bad entry never stops the others; the report says what happened to each.
//! An entry naming a place the outbound policy refuses stops the import
//! before anything changes: the catalog is refused, not partly taken.

use app::model::SourceKind;
use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};
use serde::Serialize;

use super::{
    events,
    manifest::{Manifest, ManifestEntry},
    service::Catalog,
};
use crate::{
    audit::Actor,
    clock,
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    oras::{OrasClient, OrasError, OrasRef, OrasReference},
    outbound::{self, events::purpose, Refused},
    plumbing::Core,
};

/// An entry that could not be imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportError {
    pub name: String,
    pub error: String,
}

/// `POST /catalog/import`'s answer, and the `catalog.entries.imported`
/// event's details.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub source: String,
    pub imported: usize,
    pub updated: usize,
    pub skipped: usize,
    pub errors: Vec<ImportError>,
}

/// Why a catalog was not imported; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailed {
    /// The outbound policy refuses a place the entry names.
    #[error("entry '{name}' ({src}): {refused}")]
    Refused {
        name: String,
        src: String,
        refused: Refused,
    },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Registries asked at once while importing.
const REGISTRY_LOOKUPS: usize = 4;

/// Rows per INSERT: well under SQLite's and PostgreSQL's parameter limits.
const INSERT_BATCH: usize = 200;

/// Upserts every entry of `manifest`, logs one `catalog.entries.imported`
/// event, and tells open pages. All of it is one transaction, and new rows
/// go in batches, so a catalog of thousands of entries imports in moments.
/// An entry the outbound policy refuses refuses the whole catalog, logged
/// as `outbound.refused`.
pub async fn import(
    catalog: &Catalog,
    manifest: &Manifest,
    source: &str,
    actor: &Actor,
) -> Result<ImportReport, ImportFailed> {
    let core = &catalog.core;
    let mut report = ImportReport {
        source: source.to_owned(),
        ..ImportReport::default()
    };
    let resolved = match refused_source(core, &manifest.entries) {
        Some(refusal) => Err(refusal),
        None => resolve_registry_digests(core, &manifest.entries).await,
    };
    let (entries, observed, resolve_errors) = match resolved {
        Ok(resolved) => resolved,
        Err((entry, refused)) => {
            outbound::events::refused(&core.db, &core.live, actor, purpose::IMPORT, &refused).await;
            return Err(ImportFailed::Refused {
                name: entry.name,
                src: entry.src,
                refused,
            });
        }
    };
    report.errors.extend(resolve_errors);
    let transaction = crate::db::begin_write(&catalog.core.db).await?;
    let mut existing: HashMap<String, catalog_entry::Model> = CatalogEntries::find()
        .all(&transaction)
        .await?
        .into_iter()
        .map(|row| (row.bty_image_ref.clone(), row))
        .collect();
    let mut new_rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for entry in &entries {
        let image_ref = match entry.image_ref() {
            Ok(image_ref) => image_ref,
            Err(error) => {
                report.errors.push(ImportError {
                    name: entry.name.clone(),
                    error: error.to_string(),
                });
                continue;
            }
        };
        if !seen.insert(image_ref.clone()) {
            report.errors.push(ImportError {
                name: entry.name.clone(),
                error: format!(
                    "another entry of this catalog has the same src {}",
                    entry.src
                ),
            });
            continue;
        }
        match existing.remove(&image_ref) {
            None => {
                new_rows.push(new_row(image_ref, entry, observed.contains(&entry.src)));
                report.imported += 1;
            }
            Some(row) => {
                match update(&transaction, row, entry, observed.contains(&entry.src)).await? {
                    Ok(true) => report.updated += 1,
                    Ok(false) => report.skipped += 1,
                    Err(error) => report.errors.push(ImportError {
                        name: entry.name.clone(),
                        error,
                    }),
                }
            }
        }
    }
    for batch in new_rows.chunks(INSERT_BATCH) {
        CatalogEntries::insert_many(batch.to_vec())
            .exec(&transaction)
            .await?;
    }
    transaction.commit().await?;
    events::entries_imported(&catalog.core, actor, source, &report).await;
    catalog.changed();
    Ok(report)
}

/// The first entry whose source the outbound policy refuses as written:
/// its URL (for `oras://`, the registry's API root) by scheme, host name,
/// port and literal address. Nothing is sent and no name is looked up: the
/// addresses a name resolves to are checked when it is fetched.
fn refused_source(core: &Core, entries: &[ManifestEntry]) -> Option<(ManifestEntry, Refused)> {
    let registries = OrasClient::new(&core.settings, core.http.clone());
    entries.iter().find_map(|entry| {
        let url = match entry.src.strip_prefix("oras://") {
            Some(rest) => registries.registry_url(&OrasRef::parse(rest).ok()?),
            None => entry.src.clone(),
        };
        let refused = core.http.check_url(&url).err()?;
        Some((entry.clone(), refused))
    })
}

/// What resolving the registry digests found: the entries, the sources
/// whose sha is observed, and each entry's failure.
type Digests = (
    Vec<ManifestEntry>,
    std::collections::HashSet<String>,
    Vec<ImportError>,
);

/// Registry references resolve at import time, as in the reference: an
/// `oras://` entry without a sha gets its layer's digest and size. A few
/// registries are asked at once; one that fails leaves its entry without
/// a sha and says why, and one the outbound policy refuses (its token
/// realm, a redirect) refuses the import. The second set holds the sources
/// whose sha came from resolving a tag: observed, not pinned (the tag may
/// move).
async fn resolve_registry_digests(
    core: &Core,
    entries: &[ManifestEntry],
) -> Result<Digests, (ManifestEntry, Refused)> {
    use futures::StreamExt;
    let client = OrasClient::new(&core.settings, core.http.clone());
    let resolved: Vec<(ManifestEntry, bool, Option<Problem>)> =
        futures::stream::iter(entries.iter().cloned())
            .map(|mut entry| {
                let client = &client;
                async move {
                    let Some(rest) = entry
                        .src
                        .strip_prefix("oras://")
                        .filter(|_| entry.sha256.is_none())
                    else {
                        return (entry, false, None);
                    };
                    let reference = match OrasRef::parse(rest) {
                        Ok(reference) => reference,
                        Err(why) => {
                            let why = Problem::Failed(format!("invalid oras reference: {why}"));
                            return (entry, false, Some(why));
                        }
                    };
                    let rolling = matches!(reference.reference, OrasReference::Tag(_));
                    match client.resolve(&reference, None).await {
                        Ok(layer) => {
                            entry.sha256 = Some(layer.digest_hex);
                            entry.size_bytes = entry.size_bytes.or(i64::try_from(layer.size).ok());
                            (entry, rolling, None)
                        }
                        Err(OrasError::Refused(refused)) => {
                            (entry, false, Some(Problem::Refused(refused)))
                        }
                        Err(error) => (
                            entry,
                            false,
                            Some(Problem::Failed(format!(
                                "could not resolve oras ref: {error}"
                            ))),
                        ),
                    }
                }
            })
            .buffered(REGISTRY_LOOKUPS)
            .collect()
            .await;
    let mut errors = Vec::new();
    let mut observed = std::collections::HashSet::new();
    let mut entries = Vec::with_capacity(resolved.len());
    for (entry, rolling, problem) in resolved {
        if rolling {
            observed.insert(entry.src.clone());
        }
        match problem {
            None => {}
            Some(Problem::Failed(error)) => errors.push(ImportError {
                name: entry.name.clone(),
                error,
            }),
            Some(Problem::Refused(refused)) => return Err((entry, refused)),
        }
        entries.push(entry);
    }
    Ok((entries, observed, errors))
}

/// Why an entry's registry digest is missing.
enum Problem {
    /// The entry's own fault, reported with it.
    Failed(String),
    /// The outbound policy refused a request: the import stops.
    Refused(Refused),
}

fn new_row(image_ref: String, entry: &ManifestEntry, observed: bool) -> catalog_entry::ActiveModel {
    catalog_entry::ActiveModel {
        bty_image_ref: Set(image_ref),
        src: Set(entry.src.clone()),
        disk_image_sha: Set(entry.sha256.clone()),
        name: Set(entry.name.clone()),
        sha_url: Set(None),
        format: Set(entry.format.clone()),
        size_bytes: Set(entry.size_bytes),
        description: Set(entry.description.clone()),
        added_at: Set(clock::now_iso()),
        source_kind: Set(SourceKind::Manifest),
        file_mtime_ns: Set(None),
        hashed_size: Set(None),
        hashed_mtime_ns: Set(None),
        sha_observed: Set(observed && entry.sha256.is_some()),
        ..Default::default()
    }
}

/// Brings an existing row in line with the entry: `Ok(true)` when it
/// changed; the inner error is the entry's own fault.
async fn update(
    db: &impl ConnectionTrait,
    existing: catalog_entry::Model,
    entry: &ManifestEntry,
    observed: bool,
) -> Result<Result<bool, String>, DbErr> {
    if existing.source_kind == SourceKind::Local {
        return Ok(Err(format!(
            "{} is a file in the image root; the catalog does not change it",
            entry.src
        )));
    }
    // What the catalog says wins; a sha it does not know keeps the one the
    // server learnt (by a download, say) rather than forgetting it.
    let sha = entry.sha256.clone().or(existing.disk_image_sha.clone());
    let sha_observed = match &entry.sha256 {
        Some(_) => observed,
        None => existing.sha_observed,
    };
    let size = entry.size_bytes.or(existing.size_bytes);
    let unchanged = existing.name == entry.name
        && existing.disk_image_sha == sha
        && existing.sha_observed == sha_observed
        && existing.format == entry.format
        && existing.size_bytes == size
        && existing.description == entry.description;
    if unchanged {
        return Ok(Ok(false));
    }
    let mut row: catalog_entry::ActiveModel = existing.into();
    row.name = Set(entry.name.clone());
    row.disk_image_sha = Set(sha);
    row.sha_observed = Set(sha_observed);
    row.format = Set(entry.format.clone());
    row.size_bytes = Set(size);
    row.description = Set(entry.description.clone());
    row.update(db).await?;
    Ok(Ok(true))
}
