//! The audit log: events, the `/events` list and the `/ui/events` filters
//! and pages.

use serde::{Deserialize, Serialize};

/// One audit-log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: i64,
    pub ts: String,
    pub kind: String,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub actor: Option<String>,
    pub source_ip: Option<String>,
    pub summary: String,
    pub details: Option<serde_json::Value>,
}

impl Event {
    /// Failure kinds (`*.failed`, `*_failed`) are shown in red.
    pub fn is_failure(&self) -> bool {
        self.kind.ends_with("failed")
    }

    /// `YYYY-MM-DD HH:MM:SS UTC`, as the reference's activity card shows it.
    pub fn when(&self) -> String {
        match self.ts.get(..19) {
            Some(head) => format!("{} UTC", head.replace('T', " ")),
            None => self.ts.clone(),
        }
    }
}

/// `GET /events` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventList {
    pub events: Vec<Event>,
}

/// Rows per page of `/ui/events`.
pub const EVENTS_PAGE_SIZE: usize = 50;

/// The event kinds the Kind dropdown of `/ui/events` offers.
pub const KNOWN_EVENT_KINDS: [&str; 34] = [
    "image.uploaded",
    "image.upload_failed",
    "image.hashed",
    "image.hash_failed",
    "image.hash_cancelled",
    "image.inspected",
    "image.format_mismatch",
    "image.unsafe",
    "image.corrupt",
    "image.inspection_failed",
    "image.inspection_cancelled",
    "catalog.entry.added",
    "catalog.entry.add_failed",
    "catalog.entry.deleted",
    "catalog.entries.imported",
    "catalog.download.requested",
    "catalog.download.started",
    "catalog.download.completed",
    "catalog.download.failed",
    "catalog.download.cancelled",
    "catalog.cache.deleted",
    "catalog.cache.populated",
    "catalog.cache.evicted",
    "catalog.cache.pinned",
    "catalog.cache.unpinned",
    "catalog.update.unchanged",
    "outbound.refused",
    "auth.login.succeeded",
    "auth.login.failed",
    "auth.logout",
    "auth.token.created",
    "auth.token.revoked",
    "auth.operator.added",
    "auth.operator.password_changed",
];

/// The subject kinds the Subject kind dropdown of `/ui/events` offers.
pub const KNOWN_SUBJECT_KINDS: [&str; 4] = ["image", "catalog", "auth", "outbound"];

/// The actors that are not operators: the server itself, flash clients, and
/// the `bty-web` command line (operators, passwords, tokens). Events an
/// operator causes name the operator, so the Actor dropdown of `/ui/events`
/// offers the operators' names first, then these.
pub const SYSTEM_ACTORS: [&str; 3] = ["system", "pxe-client", "cli"];

/// The filters of `/ui/events`: all present ones must match. Empty query
/// values are treated as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct EventsFilter {
    pub kind: Option<String>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub actor: Option<String>,
    pub source_ip: Option<String>,
    /// Only `*failed` kinds (any non-empty `failed` value).
    #[cfg_attr(feature = "ssr", param(value_type = Option<String>))]
    pub failed: bool,
    /// Only events older than this id (the "Older" link).
    pub before_id: Option<i64>,
}

impl EventsFilter {
    /// Reads the filter from query values; empty values count as absent and
    /// a `before_id` that is not an integer is ignored.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Self {
        let text = |key: &str| get(key).filter(|value| !value.is_empty());
        EventsFilter {
            kind: text("kind"),
            subject_kind: text("subject_kind"),
            subject_id: text("subject_id"),
            actor: text("actor"),
            source_ip: text("source_ip"),
            failed: text("failed").is_some(),
            before_id: text("before_id").and_then(|id| id.trim().parse().ok()),
        }
    }

    /// True when nothing narrows the log.
    pub fn is_unfiltered(&self) -> bool {
        *self == EventsFilter::default()
    }

    /// True when `event` passes every filter present, as `GET /events` and
    /// `/ui/events` select them (exact values, `failed` on the kind's end,
    /// `before_id` on the id), so an event that arrives live is shown only
    /// where a reload would show it.
    pub fn matches(&self, event: &Event) -> bool {
        let exact = |wanted: &Option<String>, value: Option<&str>| {
            wanted.as_deref().is_none_or(|wanted| value == Some(wanted))
        };
        exact(&self.kind, Some(&event.kind))
            && exact(&self.subject_kind, event.subject_kind.as_deref())
            && exact(&self.subject_id, event.subject_id.as_deref())
            && exact(&self.actor, event.actor.as_deref())
            && exact(&self.source_ip, event.source_ip.as_deref())
            && (!self.failed || event.is_failure())
            && self.before_id.is_none_or(|before| event.id < before)
    }

    /// The query-string pairs of the filter, `before_id` excluded.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let fields = [
            ("kind", &self.kind),
            ("subject_kind", &self.subject_kind),
            ("subject_id", &self.subject_id),
            ("actor", &self.actor),
            ("source_ip", &self.source_ip),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if self.failed {
            pairs.push(("failed", "1".to_owned()));
        }
        pairs
    }
}

/// Everything `/ui/events` is rendered from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub operator: String,
    pub filter: EventsFilter,
    /// What the Actor dropdown offers: operator names, then
    /// [`SYSTEM_ACTORS`].
    #[serde(default)]
    pub actors: Vec<String>,
    /// Newest first, at most [`EVENTS_PAGE_SIZE`].
    pub events: Vec<Event>,
}

impl EventsPage {
    /// The `before_id` of the "Older" link: the last id, when the page is full.
    pub fn older_before_id(&self) -> Option<i64> {
        if self.events.len() >= EVENTS_PAGE_SIZE {
            self.events.last().map(|event| event.id)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_time_is_shown_to_the_second_in_utc() {
        let event = Event {
            id: 1,
            ts: "2026-05-17T20:21:09.155109+00:00".into(),
            kind: "image.hashed".into(),
            subject_kind: None,
            subject_id: None,
            actor: None,
            source_ip: None,
            summary: String::new(),
            details: None,
        };
        assert_eq!(event.when(), "2026-05-17 20:21:09 UTC");
    }

    fn audit_event(id: i64, kind: &str, subject: (&str, &str), actor: &str) -> Event {
        Event {
            id,
            ts: "2026-05-17T20:21:09+00:00".into(),
            kind: kind.into(),
            subject_kind: Some(subject.0.into()),
            subject_id: Some(subject.1.into()),
            actor: Some(actor.into()),
            source_ip: Some("10.0.0.7".into()),
            summary: String::new(),
            details: None,
        }
    }

    #[test]
    fn an_empty_filter_matches_every_event() {
        let event = audit_event(1, "image.uploaded", ("image", "a.img"), "operator");
        assert!(EventsFilter::default().matches(&event));
    }

    #[test]
    fn each_filter_field_must_match_exactly() {
        let event = audit_event(9, "image.uploaded", ("image", "a.img"), "operator");
        let pass = |filter: EventsFilter| filter.matches(&event);
        let some = |text: &str| Some(text.to_owned());
        assert!(pass(EventsFilter {
            kind: some("image.uploaded"),
            subject_kind: some("image"),
            subject_id: some("a.img"),
            actor: some("operator"),
            source_ip: some("10.0.0.7"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            kind: some("image.hashed"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            subject_kind: some("catalog"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            subject_id: some("a.im"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            actor: some("system"),
            ..Default::default()
        }));
        assert!(!pass(EventsFilter {
            source_ip: some("10.0.0.8"),
            ..Default::default()
        }));
    }

    #[test]
    fn an_event_without_a_subject_does_not_match_a_subject_filter() {
        let mut event = audit_event(2, "auth.logout", ("auth", "admin"), "operator");
        event.subject_kind = None;
        let filter = EventsFilter {
            subject_kind: Some("auth".into()),
            ..Default::default()
        };
        assert!(!filter.matches(&event));
    }

    #[test]
    fn failed_only_keeps_failure_kinds_and_before_id_keeps_older_ones() {
        let failed = EventsFilter {
            failed: true,
            ..Default::default()
        };
        let upload_failed = audit_event(5, "image.upload_failed", ("image", "a"), "operator");
        let login_failed = audit_event(6, "auth.login.failed", ("auth", "x"), "operator");
        let uploaded = audit_event(7, "image.uploaded", ("image", "a"), "operator");
        assert!(failed.matches(&upload_failed));
        assert!(failed.matches(&login_failed));
        assert!(!failed.matches(&uploaded));
        let older = EventsFilter {
            before_id: Some(6),
            ..Default::default()
        };
        assert!(older.matches(&upload_failed));
        assert!(!older.matches(&login_failed));
        assert!(!older.matches(&uploaded));
    }

    #[test]
    fn events_filter_treats_empty_values_as_absent() {
        let query = |key: &str| match key {
            "kind" => Some(String::new()),
            "actor" => Some("system".to_owned()),
            "failed" => Some("on".to_owned()),
            "before_id" => Some("x".to_owned()),
            _ => None,
        };
        let filter = EventsFilter::from_query(query);
        assert_eq!(filter.kind, None);
        assert_eq!(filter.actor.as_deref(), Some("system"));
        assert!(filter.failed);
        assert_eq!(filter.before_id, None);
        assert!(!filter.is_unfiltered());
        assert!(EventsFilter::from_query(|_| Some(String::new())).is_unfiltered());
    }
}
