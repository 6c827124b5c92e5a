//! The audit events of downloads and the cache: every download ends in one
//! of completed, failed or cancelled (D8).

use serde_json::{json, Value};

use crate::{
    audit::{self, Actor, NewEvent},
    plumbing::Core,
};

/// What an event is about: the entry's name, source and ref.
#[derive(Clone, Debug)]
pub struct Subject {
    pub name: String,
    pub src: String,
    pub image_ref: String,
}

impl Subject {
    fn details(&self, extra: Value) -> Value {
        let mut details = json!({"name": self.name, "src": self.src, "ref": self.image_ref});
        if let (Some(map), Value::Object(extra)) = (details.as_object_mut(), extra) {
            map.extend(extra);
        }
        details
    }
}

/// Records `kind` about `subject`.
pub async fn record(
    core: &Core,
    actor: &Actor,
    kind: &'static str,
    subject: &Subject,
    summary: String,
    extra: Value,
) {
    let event = NewEvent {
        kind,
        subject_kind: "catalog",
        subject_id: subject.name.clone(),
        summary,
        details: Some(subject.details(extra)),
    };
    audit::record(&core.db, &core.live, actor, event).await;
}

pub async fn requested(core: &Core, actor: &Actor, subject: &Subject, update: bool) {
    let what = if update { "update" } else { "download" };
    let summary = format!("{what} of '{}' requested", subject.name);
    let extra = json!({"mode": if update { "update" } else { "fetch" }});
    record(
        core,
        actor,
        "catalog.download.requested",
        subject,
        summary,
        extra,
    )
    .await;
}

pub async fn started(core: &Core, subject: &Subject) {
    let summary = format!("download of '{}' started", subject.name);
    let kind = "catalog.download.started";
    record(core, &Actor::system(), kind, subject, summary, json!({})).await;
}

pub async fn failed(core: &Core, subject: &Subject, error: &str) {
    let summary = format!("download of '{}' failed: {error}", subject.name);
    let kind = "catalog.download.failed";
    record(
        core,
        &Actor::system(),
        kind,
        subject,
        summary,
        json!({"error": error}),
    )
    .await;
}

pub async fn cancelled(core: &Core, actor: &Actor, subject: &Subject) {
    let summary = format!("download of '{}' cancelled", subject.name);
    let kind = "catalog.download.cancelled";
    record(core, actor, kind, subject, summary, json!({})).await;
}

/// `catalog.update.unchanged`: an update asked the upstream first and
/// nothing had changed (`how` says which validator told); nothing was
/// downloaded and the cached bytes stay.
pub async fn unchanged(core: &Core, subject: &Subject, sha256: &str, how: &str) {
    let short = sha256.get(..12).unwrap_or(sha256);
    let summary = format!(
        "update of '{}': unchanged upstream ({how}), cached bytes kept (sha256={short}...)",
        subject.name
    );
    let extra = json!({"sha256": sha256, "how": how});
    record(
        core,
        &Actor::system(),
        "catalog.update.unchanged",
        subject,
        summary,
        extra,
    )
    .await;
}

/// `catalog.download.completed`; an update also says whether the content
/// changed, and from what.
pub async fn completed(
    core: &Core,
    subject: &Subject,
    sha256: &str,
    bytes: u64,
    update: Option<Option<&str>>,
) {
    let short = sha256.get(..12).unwrap_or(sha256);
    let mut extra = json!({"sha256": sha256, "size_bytes": bytes});
    let summary = match update {
        Some(previous) => {
            let changed = previous != Some(sha256);
            extra["changed"] = json!(changed);
            extra["previous_sha256"] = json!(previous);
            let how = if changed {
                "new content"
            } else {
                "content unchanged"
            };
            format!(
                "update of '{}' completed: {how} (sha256={short}...)",
                subject.name
            )
        }
        None => format!(
            "download of '{}' completed (sha256={short}...)",
            subject.name
        ),
    };
    let kind = "catalog.download.completed";
    record(core, &Actor::system(), kind, subject, summary, extra).await;
}
