//! The audit log: recording events (stored, then pushed to live streams) and
//! reading them back with the reference's filters.

use app::model::{Event, EventsFilter};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde_json::Value;

use crate::{
    clock,
    cluster::fanout::Announced,
    db::entity::event::{self, Entity as Events},
    live::Live,
};

/// Who did it, from where, and through which API token.
///
/// An operator acting through a bearer token stays the actor under their
/// own name, so the Actor filter and pivots of `/ui/events` find everything
/// they did however they did it; the event then also names the token: its
/// details get `"token": "<token name>"` and its summary ends in
/// `(API token '<token name>')`, which the events table shows.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    pub actor: Option<String>,
    pub source_ip: Option<String>,
    /// The API token's name, when the request came with one.
    pub token: Option<String>,
}

impl Actor {
    /// The server itself (workers, the reconciler).
    pub fn system() -> Self {
        Actor {
            actor: Some("system".into()),
            source_ip: None,
            token: None,
        }
    }

    /// The `bty-web` command line (operator and token management).
    pub fn cli() -> Self {
        Actor {
            actor: Some("cli".into()),
            source_ip: None,
            token: None,
        }
    }

    /// The summary and details of an event this actor caused: with the
    /// token named when there is one.
    fn mark(&self, summary: String, details: Option<Value>) -> (String, Option<Value>) {
        let Some(token) = &self.token else {
            return (summary, details);
        };
        let details = match details {
            Some(Value::Object(mut map)) => {
                map.insert("token".into(), Value::String(token.clone()));
                Value::Object(map)
            }
            // Details are objects; anything else is kept under its own key.
            Some(other) => serde_json::json!({"token": token, "value": other}),
            None => serde_json::json!({"token": token}),
        };
        (format!("{summary} (API token '{token}')"), Some(details))
    }
}

/// An event to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub kind: &'static str,
    pub subject_kind: &'static str,
    pub subject_id: String,
    pub summary: String,
    pub details: Option<Value>,
}

/// Stores the event and pushes it to live streams. A failure to record is
/// logged and does not fail the action that caused it.
pub async fn record(db: &DatabaseConnection, live: &Live, actor: &Actor, new: NewEvent) {
    let (summary, details) = actor.mark(new.summary, new.details);
    let row = event::ActiveModel {
        ts: Set(clock::now_iso()),
        kind: Set(new.kind.to_owned()),
        subject_kind: Set(Some(new.subject_kind.to_owned())),
        subject_id: Set(Some(storable(&new.subject_id))),
        actor: Set(actor.actor.as_deref().map(storable)),
        source_ip: Set(actor.source_ip.clone()),
        summary: Set(storable(&summary)),
        details: Set(details.map(|d| d.to_string())),
        ..Default::default()
    };
    let recorded = match live.peer_node() {
        // Other replicas hear of it in the same transaction that writes it.
        Some(node) => insert_and_publish(db, node, row).await.map(|model| {
            live.relay_event(&to_wire(model));
        }),
        None => row
            .insert(db)
            .await
            .map(|model| live.event(&to_wire(model))),
    };
    if let Err(error) = recorded {
        tracing::error!(%error, kind = new.kind, "audit event not recorded");
    }
}

/// Inserts `row` and publishes it to the other replicas, in one
/// transaction.
async fn insert_and_publish(
    db: &DatabaseConnection,
    node: &str,
    row: event::ActiveModel,
) -> Result<event::Model, DbErr> {
    let txn = db.begin().await?;
    let model = row.insert(&txn).await?;
    crate::cluster::fanout::notify_in(&txn, node, Announced::Event(model.id)).await?;
    txn.commit().await?;
    Ok(model)
}

/// Text as the log can keep it: a NUL (which a client can put in a name,
/// and PostgreSQL cannot store) is written as `\0`.
fn storable(text: &str) -> String {
    text.replace('\0', "\\0")
}

/// Newest first.
/// Events matching `filter` (the same filters for `GET /events` and
/// `/ui/events`), newest first, at most `limit` (clamped to 1..=500).
pub async fn list(
    db: &DatabaseConnection,
    filter: &EventsFilter,
    limit: u64,
) -> Result<Vec<Event>, DbErr> {
    let mut query = Events::find();
    let exact = [
        (event::Column::Kind, &filter.kind),
        (event::Column::SubjectKind, &filter.subject_kind),
        (event::Column::SubjectId, &filter.subject_id),
        (event::Column::Actor, &filter.actor),
        (event::Column::SourceIp, &filter.source_ip),
    ];
    for (column, value) in exact {
        if let Some(value) = value {
            query = query.filter(column.eq(value.as_str()));
        }
    }
    if filter.failed {
        query = query.filter(event::Column::Kind.like("%failed"));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(event::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(event::Column::Id)
        .limit(limit.clamp(1, 500))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_wire).collect())
}

/// The newest events about images and the catalog, for the activity card.
pub async fn recent_image_activity(db: &DatabaseConnection) -> Result<Vec<Event>, DbErr> {
    let rows = Events::find()
        .filter(event::Column::SubjectKind.is_in(["image", "catalog"]))
        .order_by_desc(event::Column::Id)
        .limit(15)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_wire).collect())
}

/// The events `ids` (recorded on another replica), oldest first.
pub async fn by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<Event>, DbErr> {
    let rows = Events::find()
        .filter(event::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(event::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_wire).collect())
}

fn to_wire(model: event::Model) -> Event {
    Event {
        id: model.id,
        ts: model.ts,
        kind: model.kind,
        subject_kind: model.subject_kind,
        subject_id: model.subject_id,
        actor: model.actor,
        source_ip: model.source_ip,
        summary: model.summary,
        // Malformed JSON reads back as null, as the reference.
        details: model
            .details
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .filter(Value::is_object),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn through(token: Option<&str>) -> Actor {
        Actor {
            actor: Some("admin".into()),
            source_ip: None,
            token: token.map(str::to_owned),
        }
    }

    #[test]
    fn events_caused_through_a_token_name_it_and_keep_their_details() {
        let (summary, details) =
            through(Some("ci")).mark("image 'a' uploaded".into(), Some(json!({"size_bytes": 3})));
        assert_eq!(summary, "image 'a' uploaded (API token 'ci')");
        assert_eq!(details, Some(json!({"size_bytes": 3, "token": "ci"})));
        let (_, details) = through(Some("ci")).mark("x".into(), None);
        assert_eq!(details, Some(json!({"token": "ci"})));
    }

    #[test]
    fn session_events_are_unchanged() {
        let (summary, details) = through(None).mark("x".into(), None);
        assert_eq!((summary.as_str(), details), ("x", None));
    }
}
