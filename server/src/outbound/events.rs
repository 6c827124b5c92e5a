//! The audit event of the outbound policy: `outbound.refused`, recorded by
//! the action a refusal stopped (an add, an import, a release fetch, a
//! download), which knows who asked and what for. It takes the database
//! and the live hub, not the `Core` that holds the outbound client.

use sea_orm::DatabaseConnection;
use serde_json::json;

use super::Refused;
use crate::{
    audit::{self, Actor, NewEvent},
    live::Live,
};

/// What a refused request was for, as events name it.
pub mod purpose {
    pub const ADD: &str = "add";
    pub const IMPORT: &str = "catalog import";
    pub const RELEASE_FETCH: &str = "release fetch";
    pub const DOWNLOAD: &str = "download";
}

/// `outbound.refused`: the policy refused a request made for `purpose`;
/// nothing was sent to the refused place.
pub async fn refused(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    purpose: &str,
    refused: &Refused,
) {
    let details = json!({
        "url": refused.url,
        "list": refused.refusal.list.name(),
        "rule": refused.refusal.rule,
        "address": refused.address.map(|address| address.to_string()),
        "purpose": purpose,
    });
    let event = NewEvent {
        kind: "outbound.refused",
        subject_kind: "outbound",
        subject_id: refused.url.clone(),
        summary: format!("{purpose}: {refused}"),
        details: Some(details),
    };
    audit::record(db, live, actor, event).await;
}
