//! The audit events of the catalog and of the images in the image root:
//! entries added, refused, deleted and imported; images uploaded and
//! hashed (by the hash worker or while an upload streamed in), and hashes
//! that failed or were cancelled; what inspecting an image found (its
//! format against its name, unsafe or corrupt bytes), and inspections that
//! failed or were cancelled; entries pinned in the cache or unpinned.
//! Downloads and the cache have theirs in `workers/downloads/events.rs`,
//! `cache/` and `quota/events.rs`.

use serde_json::{json, Value};

use crate::{
    audit::{self, Actor, NewEvent},
    db::entity::catalog_entry,
    inspect::{format_mismatch, Inspection, State},
    plumbing::Core,
};

async fn record(core: &Core, actor: &Actor, event: NewEvent) {
    audit::record(&core.db, &core.live, actor, event).await;
}

fn image_event(kind: &'static str, name: &str, summary: String, details: Value) -> NewEvent {
    NewEvent {
        kind,
        subject_kind: "image",
        subject_id: name.to_owned(),
        summary,
        details: Some(details),
    }
}

/// `catalog.entry.added`: an entry added by URL (or registry reference).
pub async fn entry_added(core: &Core, actor: &Actor, row: &catalog_entry::Model, oras: bool) {
    let mut details = json!({
        "name": row.name, "bty_image_ref": row.bty_image_ref, "disk_image_sha": row.disk_image_sha,
        "format": row.format, "size_bytes": row.size_bytes,
    });
    if oras {
        details["oras"] = json!(true);
    }
    let summary = if oras {
        format!("catalog entry added (oras): {}", row.name)
    } else {
        format!("catalog entry added: {}", row.name)
    };
    let event = NewEvent {
        kind: "catalog.entry.added",
        subject_kind: "catalog",
        subject_id: row.src.clone(),
        summary,
        details: Some(details),
    };
    record(core, actor, event).await;
}

/// `catalog.entry.add_failed`: resolving the sha of `image_url` failed.
pub async fn entry_add_failed(
    core: &Core,
    actor: &Actor,
    image_url: &str,
    sha_url: Option<&str>,
    error: &str,
) {
    let mut details = json!({"image_url": image_url, "error": error});
    if let Some(sha_url) = sha_url {
        details["sha_url"] = json!(sha_url);
    }
    let event = NewEvent {
        kind: "catalog.entry.add_failed",
        subject_kind: "catalog",
        subject_id: image_url.to_owned(),
        summary: format!("adding catalog entry {image_url} failed: {error}"),
        details: Some(details),
    };
    record(core, actor, event).await;
}

/// `catalog.entry.deleted`.
pub async fn entry_deleted(core: &Core, actor: &Actor, row: &catalog_entry::Model) {
    let event = NewEvent {
        kind: "catalog.entry.deleted",
        subject_kind: "catalog",
        subject_id: row.src.clone(),
        summary: format!("catalog entry deleted: {}", row.name),
        details: None,
    };
    record(core, actor, event).await;
}

/// `catalog.entries.imported`, with the import's report as its details.
pub async fn entries_imported(
    core: &Core,
    actor: &Actor,
    source: &str,
    report: &super::import::ImportReport,
) {
    let total = report.imported + report.updated;
    let event = NewEvent {
        kind: "catalog.entries.imported",
        subject_kind: "catalog",
        subject_id: source.to_owned(),
        summary: format!(
            "imported {total} entr{} from '{source}' ({} new, {} updated, {} unchanged, {} errors)",
            if total == 1 { "y" } else { "ies" },
            report.imported,
            report.updated,
            report.skipped,
            report.errors.len()
        ),
        details: Some(json!(report)),
    };
    record(core, actor, event).await;
}

/// `image.uploaded`, by the operator `operator`.
pub async fn image_uploaded(
    core: &Core,
    actor: &Actor,
    operator: &str,
    name: &str,
    sha256: &str,
    bytes: u64,
) {
    let summary = format!("image '{name}' uploaded ({bytes} bytes)");
    let details = json!({"size_bytes": bytes, "sha256": sha256, "operator": operator});
    record(
        core,
        actor,
        image_event("image.uploaded", name, summary, details),
    )
    .await;
}

/// `image.upload_failed`, with the status the client got.
pub async fn image_upload_failed(core: &Core, actor: &Actor, name: &str, status: u16, error: &str) {
    let summary = format!("upload of image '{name}' failed: {error}");
    let details = json!({"status_code": status, "error": error});
    record(
        core,
        actor,
        image_event("image.upload_failed", name, summary, details),
    )
    .await;
}

/// `image.hashed`: the server learnt a file's digest, by a hash job or
/// while its upload streamed in.
pub async fn image_hashed(core: &Core, name: &str, sha256: &str, bytes: u64) {
    let short = sha256.get(..12).unwrap_or(sha256);
    let summary = format!("image '{name}' hashed (sha256={short}...)");
    let details = json!({"name": name, "sha256": sha256, "bytes": bytes});
    let event = image_event("image.hashed", name, summary, details);
    record(core, &Actor::system(), event).await;
}

/// `image.hash_failed`.
pub async fn image_hash_failed(core: &Core, name: &str, error: &str) {
    let summary = format!("image '{name}' hash failed: {error}");
    let details = json!({"name": name, "error": error});
    let event = image_event("image.hash_failed", name, summary, details);
    record(core, &Actor::system(), event).await;
}

/// `image.hash_cancelled`, by whoever cancelled it.
pub async fn image_hash_cancelled(core: &Core, by: &Actor, name: &str) {
    let summary = format!("hash of image '{name}' cancelled");
    let event = image_event("image.hash_cancelled", name, summary, json!({"name": name}));
    record(core, by, event).await;
}

/// `image.inspected`, then what the inspection found worth an event of its
/// own: `image.format_mismatch` when the name says another format than the
/// bytes, `image.unsafe` or `image.corrupt` with the reason.
pub async fn image_inspected(core: &Core, name: &str, sha256: &str, inspection: &Inspection) {
    let format = inspection.format.catalog_name();
    let (state, reason) = match &inspection.state {
        State::Ok => ("ok", None),
        State::Unsafe { reason } => ("unsafe", Some(reason.as_str())),
        State::Corrupt { error } => ("corrupt", Some(error.as_str())),
    };
    let details = json!({
        "name": name, "sha256": sha256, "format": format, "state": state, "reason": reason,
        "uncompressed_size": inspection.uncompressed_size,
        "uncompressed_sha256": inspection.uncompressed_sha256,
        "partition_table": inspection.partition_table.map(|table| table.label()),
    });
    let summary = match inspection.uncompressed_size {
        Some(size) => {
            format!("image '{name}' inspected: {format}, {size} bytes uncompressed, {state}")
        }
        None => format!("image '{name}' inspected: {format}, {state}"),
    };
    let system = Actor::system();
    let event = image_event("image.inspected", name, summary, details);
    record(core, &system, event).await;
    if let Some(warning) = format_mismatch(name, inspection.format) {
        let summary = format!("image '{name}' is {}: {warning}", inspection.format.label());
        let details = json!({"name": name, "sha256": sha256, "format": format, "warning": warning});
        let event = image_event("image.format_mismatch", name, summary, details);
        record(core, &system, event).await;
    }
    if let Some(reason) = reason {
        let kind = if state == "unsafe" {
            "image.unsafe"
        } else {
            "image.corrupt"
        };
        let summary = format!("image '{name}' is {state}: {reason}");
        let details = json!({"name": name, "sha256": sha256, "format": format, "reason": reason});
        record(core, &system, image_event(kind, name, summary, details)).await;
    }
}

/// `image.inspection_failed`: the file could not be read (not what its
/// bytes are: that is `image.corrupt`).
pub async fn image_inspection_failed(core: &Core, name: &str, error: &str) {
    let summary = format!("inspection of image '{name}' failed: {error}");
    let details = json!({"name": name, "error": error});
    let event = image_event("image.inspection_failed", name, summary, details);
    record(core, &Actor::system(), event).await;
}

/// `image.inspection_cancelled`, by whoever cancelled it.
pub async fn image_inspection_cancelled(core: &Core, by: &Actor, name: &str) {
    let summary = format!("inspection of image '{name}' cancelled");
    let event = image_event(
        "image.inspection_cancelled",
        name,
        summary,
        json!({"name": name}),
    );
    record(core, by, event).await;
}

/// `catalog.cache.pinned` / `catalog.cache.unpinned`: an operator pinned
/// the entry in the cache (its bytes are never evicted to make room) or
/// unpinned it; `names` are every entry that changed with it (same content).
pub async fn cache_pin_changed(
    core: &Core,
    actor: &Actor,
    entry: &catalog_entry::Model,
    keep: bool,
    names: &[&str],
) {
    let (kind, summary) = if keep {
        (
            "catalog.cache.pinned",
            format!(
                "'{}' pinned in the cache: never evicted to make room",
                entry.name
            ),
        )
    } else {
        (
            "catalog.cache.unpinned",
            format!(
                "'{}' unpinned: the cache may evict it to make room",
                entry.name
            ),
        )
    };
    let event = NewEvent {
        kind,
        subject_kind: "catalog",
        subject_id: entry.name.clone(),
        summary,
        details: Some(json!({
            "name": entry.name, "src": entry.src, "ref": entry.bty_image_ref,
            "disk_image_sha": entry.disk_image_sha, "entries": names,
        })),
    };
    record(core, actor, event).await;
}
