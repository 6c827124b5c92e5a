//! After the bytes: check them against what they must be, rename them into
//! the cache, queue their inspection, learn the sha of an unpinned entry
//! (by its source, D9), and for an update drop the old content once
//! nothing else names it.

use sea_orm::DbErr;
use serde_json::json;

use super::{events, source::Target, DownloadWorkers};
use crate::{
    audit::Actor, catalog::cache_marks::UpstreamMarks, db::entity::catalog_entry, ingest::Staged,
};

/// A finished download.
#[derive(Clone, Debug)]
pub struct Done {
    pub sha256: String,
    pub bytes: u64,
    /// The sha the entry had before (an update compares them).
    pub previous: Option<String>,
    /// An update that asked first and found nothing new: how that was
    /// known (`ETag`, `manifest digest`, ...); the cached bytes stay.
    pub unchanged: Option<&'static str>,
}

impl DownloadWorkers {
    /// Verifies and commits the staged file, and records what was learnt.
    pub(super) async fn commit(
        &self,
        entry: &catalog_entry::Model,
        target: &Target,
        staged: Staged,
        marks: UpstreamMarks,
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
        let destination = self.cache.path_of(&sha256);
        tokio::task::spawn_blocking(move || staged.commit(&destination))
            .await
            .map_err(|error| error.to_string())?
            .map_err(|error| format!("cannot move the download into the cache: {error}"))?;
        // A new download inspects again, whatever an earlier copy was found.
        let cached = self.cache.path_of(&sha256);
        if let Err(error) = self
            .hashes
            .inspect(&entry.name, &cached, &sha256, bytes)
            .await
        {
            tracing::error!(%error, name = entry.name, "inspection not queued");
        }
        // What the next Update asks with.
        let marks = UpstreamMarks {
            digest: target.manifest_digest.clone(),
            ..marks
        };
        if let Err(error) = self.catalog.record_upstream(&entry.src, &marks).await {
            tracing::warn!(%error, name = entry.name, "upstream validators not kept");
        }
        let previous = entry.disk_image_sha.clone();
        if super::source::is_pinned(entry) {
            return Ok(Done {
                sha256,
                bytes,
                previous,
                unchanged: None,
            });
        }
        self.catalog
            .back_fill(&entry.src, &sha256, bytes)
            .await
            .map_err(|error| format!("could not record the sha256: {error}"))?;
        if previous.as_deref() != Some(sha256.as_str()) {
            let summary = format!("'{}' cached (sha256={}...)", entry.name, &sha256[..12]);
            // The reference's keys (§6: name, src, disk_image_sha,
            // size_bytes; name, src and ref come with the subject).
            let extra = json!({
                "disk_image_sha": sha256, "size_bytes": bytes, "previous_sha256": previous,
            });
            events::record(
                &self.core,
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
            unchanged: None,
        })
    }

    /// An update replaced `old` with other content: remove `cache/<old>` unless
    /// another entry still has that sha.
    pub(super) async fn drop_replaced(&self, old: &str) -> Result<bool, DbErr> {
        if self.catalog.entries_with_sha(old).await? > 0 {
            return Ok(false);
        }
        Ok(self.cache.remove(old).await.unwrap_or(false))
    }
}
