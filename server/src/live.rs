//! The live hub: one broadcast channel that carries job progress, catalog
//! changes and new audit events to every open SSE stream. Messages are
//! serialized once, here, not once per client.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use app::model::{live_event, CacheUsage, CatalogPage, Event, Job};
use serde::Serialize;
use tokio::sync::{broadcast, Notify};

/// How many messages a slow client may fall behind before it is sent a
/// fresh snapshot instead.
const CAPACITY: usize = 512;

/// One SSE message: its event name and JSON data.
#[derive(Clone, Debug)]
pub struct LiveMessage {
    pub event: &'static str,
    pub data: Arc<str>,
}

/// Cheap to clone; every clone feeds the same channel.
#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<LiveMessage>,
    catalog_dirty: Arc<Notify>,
    /// Bumped by every catalog change; caches of the catalog compare it.
    catalog_generation: Arc<AtomicU64>,
}

impl Default for Live {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Live {
            sender,
            catalog_dirty: Arc::new(Notify::new()),
            catalog_generation: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Live {
    pub fn subscribe(&self) -> broadcast::Receiver<LiveMessage> {
        self.sender.subscribe()
    }

    fn send(&self, event: &'static str, data: &impl Serialize) {
        match serde_json::to_string(data) {
            // No subscribers is not an error: nobody is watching.
            Ok(json) => {
                let _ = self.sender.send(LiveMessage {
                    event,
                    data: json.into(),
                });
            }
            Err(error) => tracing::error!(%error, event, "live message not serializable"),
        }
    }

    /// A job changed state or made progress.
    pub fn job(&self, job: &Job) {
        self.send(live_event::JOB, job);
    }

    /// A new audit event was recorded.
    pub fn event(&self, event: &Event) {
        self.send(live_event::EVENT, event);
    }

    /// The download cache's usage after it filled or shrank.
    pub fn cache(&self, usage: &CacheUsage) {
        self.send(live_event::CACHE, usage);
    }

    /// The first page of the unified catalog as it is now.
    pub fn catalog(&self, view: &CatalogPage) {
        self.send(live_event::CATALOG, view);
    }

    /// Something in the catalog changed: the publisher recomputes the
    /// unified view once, however many changes came in together.
    pub fn catalog_changed(&self) {
        self.catalog_generation.fetch_add(1, Ordering::SeqCst);
        self.catalog_dirty.notify_one();
    }

    /// How many catalog changes there have been: a cache built at one
    /// generation is stale at any other.
    pub fn catalog_generation(&self) -> u64 {
        self.catalog_generation.load(Ordering::SeqCst)
    }

    /// Waits for the next [`Live::catalog_changed`].
    pub async fn catalog_change(&self) {
        self.catalog_dirty.notified().await;
    }
}
