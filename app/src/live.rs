//! The live half of the Images page: signals seeded from the rendered page
//! data, kept current by the server's event stream (`GET /events/live`)
//! once the page is hydrated. The page never polls.

use leptos::prelude::*;

use crate::model::{CatalogPage, Event, ImagesPage, Job, LiveSnapshot};

/// Where the browser opens the live stream; same origin, so the session
/// cookie goes along.
pub const LIVE_URL: &str = "/events/live";

/// How many recent image and catalog events the activity card keeps.
pub const MAX_EVENTS: usize = 15;

/// The subject kinds whose events belong on the Images page.
const IMAGE_SUBJECT_KINDS: [&str; 2] = ["image", "catalog"];

/// State of the live stream, as the top bar's indicator shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveConnection {
    /// Opening, or reconnecting after a drop (the browser retries by itself).
    Connecting,
    /// Receiving updates.
    Open,
    /// Not connected and not retrying: before hydration, or after the
    /// server refused the stream.
    Closed,
}

impl LiveConnection {
    /// The value of the indicator's `data-state`.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveConnection::Connecting => "connecting",
            LiveConnection::Open => "open",
            LiveConnection::Closed => "closed",
        }
    }

    /// The indicator's words.
    pub fn label(self) -> &'static str {
        match self {
            LiveConnection::Connecting => "connecting",
            LiveConnection::Open => "live",
            LiveConnection::Closed => "offline",
        }
    }
}

/// Everything on the Images page that changes without a reload.
#[derive(Clone, Copy, Debug)]
pub struct LiveState {
    /// The page of the catalog on show, for [`LiveState::view`].
    pub catalog: RwSignal<CatalogPage>,
    /// The filter text and page (1-based) the operator asked for.
    pub view: RwSignal<(String, usize)>,
    pub jobs: RwSignal<Vec<Job>>,
    pub events: RwSignal<Vec<Event>>,
    pub connection: RwSignal<LiveConnection>,
}

impl LiveState {
    /// Seeds the signals from the page data, so the first render (on the
    /// server, and again when hydrating) shows exactly what was loaded.
    pub fn new(page: &ImagesPage) -> Self {
        let mut events = page.recent_events.clone();
        events.truncate(MAX_EVENTS);
        LiveState {
            catalog: RwSignal::new(page.catalog.clone()),
            view: RwSignal::new((page.catalog.query.clone(), page.catalog.page)),
            jobs: RwSignal::new(page.jobs.clone()),
            events: RwSignal::new(events),
            connection: RwSignal::new(LiveConnection::Closed),
        }
    }

    /// True when the catalog holds any entry (whatever the filter shows).
    pub fn has_entries(&self) -> bool {
        self.catalog.with(|catalog| catalog.total > 0)
    }

    /// A `snapshot` message: the whole picture again.
    pub fn apply_snapshot(&self, snapshot: LiveSnapshot) {
        self.jobs.set(snapshot.jobs);
        self.apply_catalog(snapshot.catalog);
    }

    /// A `job` message: one job's new state.
    pub fn apply_job(&self, job: Job) {
        self.jobs.update(|jobs| upsert_job(jobs, job));
    }

    /// A `catalog` message: the catalog changed. It carries the first
    /// unfiltered page; any other view is fetched again.
    pub fn apply_catalog(&self, first_page: CatalogPage) {
        if self
            .view
            .with_untracked(|(query, page)| query.is_empty() && *page == 1)
        {
            self.catalog.set(first_page);
        } else {
            self.refresh();
        }
    }

    /// Shows `query` at `page`: fetches it, and keeps the answer only if the
    /// operator has not asked for something else meanwhile.
    pub fn show(&self, query: String, page: usize) {
        self.view.set((query, page));
        self.refresh();
    }

    /// Fetches the current view again (browser only).
    pub fn refresh(&self) {
        #[cfg(feature = "hydrate")]
        {
            let live = *self;
            let wanted = self.view.get_untracked();
            leptos::task::spawn_local(async move {
                match crate::api::catalog_view(&wanted.0, wanted.1).await {
                    Ok(page) if live.view.try_get_untracked() == Some(wanted) => {
                        let _ = live.catalog.try_set(page);
                    }
                    Ok(_) => {}
                    Err(error) => leptos::logging::warn!("catalog page not loaded: {error}"),
                }
            });
        }
    }

    /// An `event` message: a new audit event, kept when it is about images.
    pub fn apply_event(&self, event: Event) {
        if is_image_event(&event) && !self.events.with_untracked(|e| contains(e, event.id)) {
            self.events.update(|events| prepend_event(events, event));
        }
    }
}

/// The live state of the page being rendered, when it has one.
pub fn use_live() -> Option<LiveState> {
    use_context::<LiveState>()
}

/// Replaces the job with the same id, or adds it.
pub fn upsert_job(jobs: &mut Vec<Job>, job: Job) {
    match jobs.iter_mut().find(|existing| existing.id == job.id) {
        Some(existing) => *existing = job,
        None => jobs.push(job),
    }
}

/// True for events about images or the catalog.
pub fn is_image_event(event: &Event) -> bool {
    event
        .subject_kind
        .as_deref()
        .is_some_and(|kind| IMAGE_SUBJECT_KINDS.contains(&kind))
}

fn contains(events: &[Event], id: i64) -> bool {
    events.iter().any(|event| event.id == id)
}

/// Puts the newest event first and keeps at most [`MAX_EVENTS`].
pub fn prepend_event(events: &mut Vec<Event>, event: Event) {
    events.insert(0, event);
    events.truncate(MAX_EVENTS);
}

/// Keeps `live` current from the event stream once the page is hydrated.
/// Does nothing on the server: the effect never runs there.
pub fn connect(live: LiveState) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| match stream::Subscription::open(live) {
        Ok(subscription) => {
            let subscription = send_wrapper::SendWrapper::new(subscription);
            // Dropping the subscription closes the stream and frees its listeners.
            on_cleanup(move || drop(subscription));
        }
        Err(_) => live.connection.set(LiveConnection::Closed),
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
}

#[cfg(feature = "hydrate")]
mod stream {
    //! The browser's `EventSource` and the listeners that feed [`LiveState`].

    use leptos::prelude::*;
    use serde::de::DeserializeOwned;
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};
    use web_sys::{EventSource, MessageEvent};

    use super::{LiveConnection, LiveState, LIVE_URL};
    use crate::model::live_event;

    type MessageListener = Closure<dyn FnMut(MessageEvent)>;

    /// An open stream. Owns its callbacks, so they live exactly as long as
    /// the stream; dropping it closes the stream.
    pub struct Subscription {
        source: EventSource,
        listeners: Vec<(&'static str, MessageListener)>,
        _on_open: Closure<dyn FnMut()>,
        _on_error: Closure<dyn FnMut()>,
    }

    impl Subscription {
        /// Opens the stream and routes its named events into `live`.
        pub fn open(live: LiveState) -> Result<Self, JsValue> {
            let source = EventSource::new(LIVE_URL)?;
            live.connection.set(LiveConnection::Connecting);

            let on_open = Closure::<dyn FnMut()>::new(move || {
                live.connection.set(LiveConnection::Open);
            });
            source.set_onopen(Some(on_open.as_ref().unchecked_ref()));

            let watched = source.clone();
            let on_error = Closure::<dyn FnMut()>::new(move || {
                // CLOSED means the browser gave up (the server refused the
                // stream); otherwise it is already retrying.
                let state = if watched.ready_state() == EventSource::CLOSED {
                    LiveConnection::Closed
                } else {
                    LiveConnection::Connecting
                };
                live.connection.set(state);
            });
            source.set_onerror(Some(on_error.as_ref().unchecked_ref()));

            let mut subscription = Subscription {
                source,
                listeners: Vec::new(),
                _on_open: on_open,
                _on_error: on_error,
            };
            subscription.listen(live_event::SNAPSHOT, move |s| live.apply_snapshot(s))?;
            subscription.listen(live_event::JOB, move |job| live.apply_job(job))?;
            subscription.listen(live_event::CATALOG, move |c| live.apply_catalog(c))?;
            subscription.listen(live_event::EVENT, move |event| live.apply_event(event))?;
            Ok(subscription)
        }

        /// Adds a listener for one named event whose data is JSON of `T`.
        /// Messages that do not parse are skipped: the next snapshot heals.
        fn listen<T, F>(&mut self, name: &'static str, mut apply: F) -> Result<(), JsValue>
        where
            T: DeserializeOwned + 'static,
            F: FnMut(T) + 'static,
        {
            let listener = MessageListener::new(move |message: MessageEvent| {
                let parsed = message
                    .data()
                    .as_string()
                    .and_then(|data| serde_json::from_str::<T>(&data).ok());
                match parsed {
                    Some(value) => apply(value),
                    None => leptos::logging::warn!("live: unreadable {name} message"),
                }
            });
            self.source
                .add_event_listener_with_callback(name, listener.as_ref().unchecked_ref())?;
            self.listeners.push((name, listener));
            Ok(())
        }
    }

    impl Drop for Subscription {
        fn drop(&mut self) {
            self.source.close();
            self.source.set_onopen(None);
            self.source.set_onerror(None);
            for (name, listener) in &self.listeners {
                // Nothing to do if the browser already let go of it.
                let _ = self
                    .source
                    .remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobKind, JobStatus};

    fn job(id: i64, name: &str, status: JobStatus) -> Job {
        Job {
            id,
            kind: JobKind::Hash,
            name: name.into(),
            status,
            bytes_done: 0,
            bytes_total: None,
            sha256: None,
            error: None,
            started_at: None,
            finished_at: None,
            rate_bps: None,
            attempt: 0,
        }
    }

    fn event(id: i64, subject_kind: Option<&str>) -> Event {
        Event {
            id,
            ts: "2026-05-17T20:21:09+00:00".into(),
            kind: "image.hashed".into(),
            subject_kind: subject_kind.map(str::to_string),
            subject_id: None,
            actor: None,
            source_ip: None,
            summary: String::new(),
            details: None,
        }
    }

    #[test]
    fn a_job_update_replaces_the_job_with_the_same_id() {
        let mut jobs = vec![job(1, "a.img", JobStatus::Queued)];
        upsert_job(&mut jobs, job(1, "a.img", JobStatus::Running));
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].status, JobStatus::Running);
    }

    #[test]
    fn a_new_job_is_added() {
        let mut jobs = vec![job(1, "a.img", JobStatus::Queued)];
        upsert_job(&mut jobs, job(2, "b.img", JobStatus::Queued));
        assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn only_image_and_catalog_events_belong_on_the_page() {
        assert!(is_image_event(&event(1, Some("image"))));
        assert!(is_image_event(&event(2, Some("catalog"))));
        assert!(!is_image_event(&event(3, Some("machine"))));
        assert!(!is_image_event(&event(4, None)));
    }

    #[test]
    fn new_events_come_first_and_the_list_keeps_fifteen() {
        let mut events: Vec<Event> = (1..=15).rev().map(|id| event(id, Some("image"))).collect();
        prepend_event(&mut events, event(16, Some("image")));
        assert_eq!(events.len(), MAX_EVENTS);
        assert_eq!(events[0].id, 16);
        assert_eq!(events[MAX_EVENTS - 1].id, 2);
    }

    #[test]
    fn the_indicator_names_each_state() {
        assert_eq!(LiveConnection::Open.as_str(), "open");
        assert_eq!(LiveConnection::Open.label(), "live");
        assert_eq!(LiveConnection::Connecting.as_str(), "connecting");
        assert_eq!(LiveConnection::Closed.as_str(), "closed");
    }
}
