//! The live list of `/ui/events`: the rows the server rendered, with new
//! audit events put on top as they happen, as long as the operator looks
//! at the newest page; only events the page's filters would select, and
//! never more than a page. The filter form and the address stay as they are.

use leptos::prelude::*;

use super::{insert_newest_first, LiveConnection};
use crate::model::{Event, EventsFilter, EventsPage, EVENTS_PAGE_SIZE};

/// Everything on the Events page that changes without a reload.
#[derive(Clone, Copy, Debug)]
pub struct EventsLive {
    /// Newest first, at most [`EVENTS_PAGE_SIZE`].
    pub events: RwSignal<Vec<Event>>,
    filter: StoredValue<EventsFilter>,
    pub connection: RwSignal<LiveConnection>,
}

impl EventsLive {
    /// Seeds the list from the rendered page.
    pub fn new(page: &EventsPage) -> Self {
        let mut events = page.events.clone();
        events.truncate(EVENTS_PAGE_SIZE);
        EventsLive {
            events: RwSignal::new(events),
            filter: StoredValue::new(page.filter.clone()),
            connection: RwSignal::new(LiveConnection::Closed),
        }
    }

    /// True on the newest page (no "Older" `before_id`): only there do new
    /// events belong. An older page is a fixed slice of the past.
    pub fn follows_new_events(&self) -> bool {
        self.filter.with_value(|filter| filter.before_id.is_none())
    }

    /// An `event` message: shown on top when the filters select it.
    pub fn apply_event(&self, event: Event) {
        let wanted = self
            .filter
            .with_value(|filter| filter.before_id.is_none() && filter.matches(&event));
        if wanted {
            self.events
                .update(|events| insert_newest_first(events, event, EVENTS_PAGE_SIZE));
        }
    }

    /// The newest page as the server lists it now (after a snapshot: the
    /// stream opened or reopened, and events may have happened unseen),
    /// merged with anything that arrived meanwhile.
    pub fn apply_listing(&self, listed: Vec<Event>) {
        self.events.update(|events| {
            for event in listed {
                insert_newest_first(events, event, EVENTS_PAGE_SIZE);
            }
        });
    }

    /// Fetches the newest page again (browser only); see [`Self::apply_listing`].
    pub fn resync(&self) {
        #[cfg(feature = "hydrate")]
        {
            let live = *self;
            let filter = self.filter.get_value();
            leptos::task::spawn_local(async move {
                match crate::api::events(&filter).await {
                    Ok(listed) => {
                        if live.events.try_get_untracked().is_some() {
                            live.apply_listing(listed);
                        }
                    }
                    Err(error) => leptos::logging::warn!("events not reloaded: {error}"),
                }
            });
        }
    }
}

/// Keeps the Events page's list current once it is hydrated, on the newest
/// page only. Does nothing on the server: the effect never runs there.
pub fn connect(live: EventsLive) {
    #[cfg(feature = "hydrate")]
    if live.follows_new_events() {
        super::stream::keep_open(live.connection, move |subscription| {
            use crate::model::live_event;
            // The snapshot's content is the Images page's; here it only
            // says the stream (re)started.
            subscription.listen(live_event::SNAPSHOT, move |_: serde::de::IgnoredAny| {
                live.resync()
            })?;
            subscription.listen(live_event::EVENT, move |event| live.apply_event(event))
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, kind: &str, subject_kind: &str) -> Event {
        Event {
            id,
            ts: "2026-05-17T20:21:09+00:00".into(),
            kind: kind.into(),
            subject_kind: Some(subject_kind.into()),
            subject_id: Some("x".into()),
            actor: Some("operator".into()),
            source_ip: None,
            summary: String::new(),
            details: None,
        }
    }

    fn page(filter: EventsFilter, events: Vec<Event>) -> EventsPage {
        EventsPage {
            operator: "admin".into(),
            filter,
            actors: Vec::new(),
            events,
        }
    }

    fn ids(live: &EventsLive) -> Vec<i64> {
        live.events
            .with_untracked(|events| events.iter().map(|e| e.id).collect())
    }

    #[test]
    fn matching_events_go_on_top_and_others_are_left_out() {
        let owner = Owner::new();
        owner.with(|| {
            let filter = EventsFilter {
                subject_kind: Some("image".into()),
                ..Default::default()
            };
            let live = EventsLive::new(&page(filter, vec![event(3, "image.hashed", "image")]));
            live.apply_event(event(4, "catalog.entry.added", "catalog"));
            live.apply_event(event(5, "image.uploaded", "image"));
            live.apply_event(event(5, "image.uploaded", "image"));
            assert_eq!(ids(&live), [5, 3]);
        });
    }

    #[test]
    fn an_older_page_stays_as_it_was() {
        let owner = Owner::new();
        owner.with(|| {
            let filter = EventsFilter {
                before_id: Some(10),
                ..Default::default()
            };
            let live = EventsLive::new(&page(filter, vec![event(9, "image.hashed", "image")]));
            assert!(!live.follows_new_events());
            live.apply_event(event(11, "image.uploaded", "image"));
            assert_eq!(ids(&live), [9]);
        });
    }

    #[test]
    fn the_list_keeps_one_page() {
        let owner = Owner::new();
        owner.with(|| {
            let full = (1..=EVENTS_PAGE_SIZE as i64)
                .rev()
                .map(|id| event(id, "image.hashed", "image"))
                .collect();
            let live = EventsLive::new(&page(EventsFilter::default(), full));
            assert!(live.follows_new_events());
            live.apply_event(event(100, "auth.logout", "auth"));
            let listed = ids(&live);
            assert_eq!(listed.len(), EVENTS_PAGE_SIZE);
            assert_eq!((listed[0], listed[EVENTS_PAGE_SIZE - 1]), (100, 2));
        });
    }

    #[test]
    fn a_fresh_listing_fills_the_gap_without_losing_live_rows() {
        let owner = Owner::new();
        owner.with(|| {
            let live = EventsLive::new(&page(
                EventsFilter::default(),
                vec![event(1, "image.hashed", "image")],
            ));
            live.apply_event(event(4, "image.uploaded", "image"));
            live.apply_listing(vec![
                event(3, "image.hashed", "image"),
                event(2, "image.hashed", "image"),
                event(1, "image.hashed", "image"),
            ]);
            assert_eq!(ids(&live), [4, 3, 2, 1]);
        });
    }
}
