//! The live half of the Images page: signals seeded from the rendered page
//! data, kept current by the server's event stream (`GET /events/live`)
//! once the page is hydrated. The page never polls. The Events page's live
//! list is in [`audit`]; the browser's stream itself in `stream`.

use leptos::prelude::*;

use crate::model::{CacheUsage, CatalogPage, Event, ImagesPage, Job, LiveSnapshot};

pub mod audit;
#[cfg(feature = "hydrate")]
mod stream;

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
    /// The download cache's disk usage, once the server has told it.
    pub cache: RwSignal<Option<CacheUsage>>,
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
            cache: RwSignal::new(page.cache.clone()),
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
        // A server that does not measure the cache sends none: keep what
        // the page was rendered with.
        if let Some(cache) = snapshot.cache {
            self.cache.set(Some(cache));
        }
    }

    /// A `cache` message: the cache filled or shrank.
    pub fn apply_cache(&self, usage: CacheUsage) {
        self.cache.set(Some(usage));
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
            self.events
                .update(|events| insert_newest_first(events, event, MAX_EVENTS));
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

/// Adds an event to a list kept newest first (by id) and cut to `limit`;
/// an event already listed is not added twice.
pub fn insert_newest_first(events: &mut Vec<Event>, event: Event, limit: usize) {
    if contains(events, event.id) {
        return;
    }
    let at = events
        .iter()
        .position(|listed| listed.id < event.id)
        .unwrap_or(events.len());
    events.insert(at, event);
    events.truncate(limit);
}

/// Keeps `live` current from the event stream once the page is hydrated.
/// Does nothing on the server: the effect never runs there.
pub fn connect(live: LiveState) {
    #[cfg(feature = "hydrate")]
    stream::keep_open(live.connection, move |subscription| {
        use crate::model::live_event;
        subscription.listen(live_event::SNAPSHOT, move |s| live.apply_snapshot(s))?;
        subscription.listen(live_event::JOB, move |job| live.apply_job(job))?;
        subscription.listen(live_event::CATALOG, move |c| live.apply_catalog(c))?;
        subscription.listen(live_event::EVENT, move |event| live.apply_event(event))?;
        subscription.listen(live_event::CACHE, move |usage| live.apply_cache(usage))
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
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
        insert_newest_first(&mut events, event(16, Some("image")), MAX_EVENTS);
        assert_eq!(events.len(), MAX_EVENTS);
        assert_eq!(events[0].id, 16);
        assert_eq!(events[MAX_EVENTS - 1].id, 2);
    }

    #[test]
    fn an_event_is_listed_once_and_in_id_order() {
        let mut events = vec![event(9, Some("image")), event(5, Some("image"))];
        insert_newest_first(&mut events, event(9, Some("image")), 10);
        insert_newest_first(&mut events, event(7, Some("image")), 10);
        insert_newest_first(&mut events, event(1, Some("image")), 3);
        assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [9, 7, 5]);
    }

    #[test]
    fn cache_usage_arrives_by_snapshot_and_by_its_own_message() {
        let owner = Owner::new();
        owner.with(|| {
            let page = crate::model::ImagesPage {
                operator: "admin".into(),
                catalog: CatalogPage::default(),
                jobs: vec![],
                recent_events: vec![],
                hash_max_parallel: 1,
                release_repo: "safl/bty".into(),
                manifest_path: "/m".into(),
                cache: None,
                download_max_parallel: 2,
            };
            let live = LiveState::new(&page);
            assert_eq!(live.cache.get_untracked(), None);
            let usage = |files| CacheUsage {
                cache_dir: "/c".into(),
                files,
                bytes: files * 10,
                free_bytes: Some(100),
                total_bytes: Some(1000),
                quota_bytes: None,
            };
            live.apply_snapshot(LiveSnapshot {
                jobs: vec![],
                catalog: CatalogPage::default(),
                cache: Some(usage(1)),
            });
            assert_eq!(live.cache.get_untracked(), Some(usage(1)));
            live.apply_cache(usage(2));
            assert_eq!(live.cache.get_untracked(), Some(usage(2)));
            live.apply_snapshot(LiveSnapshot {
                jobs: vec![],
                catalog: CatalogPage::default(),
                cache: None,
            });
            assert_eq!(
                live.cache.get_untracked(),
                Some(usage(2)),
                "a snapshot without cache figures keeps the last ones"
            );
        });
    }

    #[test]
    fn the_indicator_names_each_state() {
        assert_eq!(LiveConnection::Open.as_str(), "open");
        assert_eq!(LiveConnection::Open.label(), "live");
        assert_eq!(LiveConnection::Connecting.as_str(), "connecting");
        assert_eq!(LiveConnection::Closed.as_str(), "closed");
    }
}
