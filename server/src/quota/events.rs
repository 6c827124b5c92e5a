//! The quota's audit event: every image it evicts to make room.

use app::components::format::format_bytes;
use serde_json::json;

use super::plan::Reason;
use crate::{
    audit::{self, Actor, NewEvent},
    plumbing::Core,
};

/// `catalog.cache.evicted`: the cached bytes with `sha256` (held by the
/// entries `names`, none for bytes no entry names any more) went to make
/// room for the download of `needed_by`. The reference's keys of a cache
/// deletion (`name`, `disk_image_sha`), plus why and how much.
pub async fn evicted(
    core: &Core,
    names: &[String],
    sha256: &str,
    reason: Reason,
    bytes_freed: u64,
    needed_by: &str,
) {
    let short = sha256.get(..12).unwrap_or(sha256);
    let name = names.first().map_or(sha256, String::as_str);
    let why = match reason {
        Reason::Quota => "the quota",
        Reason::FreeSpace => "the free-space floor",
    };
    let event = NewEvent {
        kind: "catalog.cache.evicted",
        subject_kind: "catalog",
        subject_id: name.to_owned(),
        summary: format!(
            "cached bytes of '{name}' evicted (sha256={short}...) to make room for \
             '{needed_by}' under {why}: {} freed",
            format_bytes(bytes_freed)
        ),
        details: Some(json!({
            "name": name, "disk_image_sha": sha256, "reason": reason.as_str(),
            "bytes_freed": bytes_freed, "names": names, "needed_by": needed_by,
        })),
    };
    audit::record(&core.db, &core.live, &Actor::system(), event).await;
}
