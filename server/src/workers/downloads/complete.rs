//! After the bytes: check them against what they must be, rename them into
//! the cache, learn the sha of an unpinned entry (by its source, D9), and
//! for an update drop the old content once nothing else names it.

use sea_orm::{sea_query::Expr, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use super::{events, source::Target};
use crate::{
    audit::Actor,
    cache,
    db::entity::catalog_entry::{self, Entity as CatalogEntries},
    ingest::Staged,
    state::AppState,
};

/// A finished download.
#[derive(Clone, Debug)]
pub struct Done {
    pub sha256: String,
    pub bytes: u64,
    /// The sha the entry had before (an update compares them).
    pub previous: Option<String>,
}

/// Verifies and commits the staged file, and records what was learnt.
pub async fn commit(
    state: &AppState,
    entry: &catalog_entry::Model,
    target: &Target,
    staged: Staged,
    subject: &events::Subject,
) -> Result<Done, String> {
    if let Some(expected) = &target.expected {
        if *expected != staged.sha256 {
            // Dropping the staged file removes it: nothing is left.
            return Err(format!(
                "sha256 mismatch for '{}': expected {expected}, got {}; discarded",
                entry.name, staged.sha256
            ));
        }
    }
    let (sha256, bytes) = (staged.sha256.clone(), staged.bytes);
    let destination = cache::cached_path(&state.settings.cache_dir(), &sha256);
    tokio::task::spawn_blocking(move || staged.commit(&destination))
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| format!("cannot move the download into the cache: {error}"))?;
    let previous = entry.disk_image_sha.clone();
    if super::source::is_pinned(entry) {
        return Ok(Done {
            sha256,
            bytes,
            previous,
        });
    }
    back_fill(state, &entry.src, &sha256, bytes)
        .await
        .map_err(|error| format!("could not record the sha256: {error}"))?;
    if previous.as_deref() != Some(sha256.as_str()) {
        let summary = format!("'{}' cached (sha256={}...)", entry.name, &sha256[..12]);
        // The reference's keys (section 6: name, src, disk_image_sha,
        // size_bytes; name, src and ref come with the subject).
        let extra = json!({
            "disk_image_sha": sha256, "size_bytes": bytes, "previous_sha256": previous,
        });
        events::record(
            state,
            &Actor::system(),
            "catalog.cache.populated",
            subject,
            summary,
            extra,
        )
        .await;
    }
    Ok(Done {
        sha256,
        bytes,
        previous,
    })
}

/// An update replaced `old` with other content: remove `cache/<old>` unless
/// another entry still has that sha.
pub async fn drop_replaced(state: &AppState, old: &str) -> Result<bool, DbErr> {
    let users = CatalogEntries::find()
        .filter(catalog_entry::Column::DiskImageSha.eq(old))
        .count(&state.db)
        .await?;
    if users > 0 {
        return Ok(false);
    }
    let dir = state.settings.cache_dir();
    let old = old.to_owned();
    Ok(
        tokio::task::spawn_blocking(move || cache::remove(&dir, &old))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false),
    )
}

/// The unpinned entry's sha, observed by this download (keyed by source).
async fn back_fill(state: &AppState, src: &str, sha256: &str, bytes: u64) -> Result<(), DbErr> {
    CatalogEntries::update_many()
        .col_expr(catalog_entry::Column::DiskImageSha, Expr::value(sha256))
        .col_expr(catalog_entry::Column::ShaObserved, Expr::value(true))
        .col_expr(
            catalog_entry::Column::SizeBytes,
            Expr::value(i64::try_from(bytes).unwrap_or(i64::MAX)),
        )
        .filter(catalog_entry::Column::Src.eq(src))
        .exec(&state.db)
        .await?;
    Ok(())
}
