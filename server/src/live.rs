//! The live hub: one broadcast channel that carries job progress, catalog
//! changes and new audit events to every open SSE stream. Messages are
//! serialized once, here, not once per client. With other replicas on the
//! database, every change made here also goes to the peer outbox (which
//! `cluster::fanout` publishes with `pg_notify`), and changes the other
//! replicas made come back in through the `relay_*` methods.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use app::model::{live_event, CacheUsage, CatalogPage, Event, Job};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, Notify};

/// How many messages a slow client may fall behind before it is sent a
/// fresh snapshot instead.
const CAPACITY: usize = 512;

/// Not an SSE event: tells each stream to send its client a fresh
/// snapshot (changes may have been missed, see [`Live::resync`]).
pub const RESYNC: &str = "resync";

/// A change made on this replica that the other replicas must hear of:
/// by row id where the row says it all, so a peer reads it fresh.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerChange {
    Job(i64),
    Event(i64),
    Catalog,
    Cache(CacheUsage),
}

/// What this replica's changes are published from.
pub type PeerOutbox = mpsc::UnboundedReceiver<PeerChange>;

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
    /// Set when other replicas share the database: they hear of changes.
    peers: Option<mpsc::UnboundedSender<PeerChange>>,
    /// This replica's name, when other replicas hear of its changes.
    node: Option<Arc<str>>,
}

impl Default for Live {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Live {
            sender,
            catalog_dirty: Arc::new(Notify::new()),
            catalog_generation: Arc::new(AtomicU64::new(0)),
            peers: None,
            node: None,
        }
    }
}

impl Live {
    /// A hub whose changes also go to other replicas, through the outbox
    /// returned beside it.
    pub fn with_peers(node: &str) -> (Self, PeerOutbox) {
        let (sender, outbox) = mpsc::unbounded_channel();
        let live = Live {
            peers: Some(sender),
            node: Some(node.into()),
            ..Live::default()
        };
        (live, outbox)
    }

    /// This replica's name when other replicas hear of its changes (which
    /// a writer may then publish in its own transaction, see
    /// `cluster::fanout::notify_in`); `None` for a replica alone.
    pub fn peer_node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    fn tell_peers(&self, change: PeerChange) {
        if let Some(peers) = &self.peers {
            // Closed only once the publisher stopped, at shutdown.
            let _ = peers.send(change);
        }
    }

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
        self.tell_peers(PeerChange::Job(job.id));
    }

    /// A new audit event was recorded.
    pub fn event(&self, event: &Event) {
        self.send(live_event::EVENT, event);
        self.tell_peers(PeerChange::Event(event.id));
    }

    /// The download cache's usage after it filled or shrank.
    pub fn cache(&self, usage: &CacheUsage) {
        self.send(live_event::CACHE, usage);
        self.tell_peers(PeerChange::Cache(usage.clone()));
    }

    /// The first page of the unified catalog as it is now (each replica
    /// pushes its own after a change).
    pub fn catalog(&self, view: &CatalogPage) {
        self.send(live_event::CATALOG, view);
    }

    /// Something in the catalog changed: the publisher recomputes the
    /// unified view once, however many changes came in together.
    pub fn catalog_changed(&self) {
        self.catalog_changed_elsewhere();
        self.tell_peers(PeerChange::Catalog);
    }

    /// A job for this replica's streams only: another replica changed it,
    /// or this one announced its change in the writing transaction
    /// (`jobs::finish`).
    pub fn relay_job(&self, job: &Job) {
        self.send(live_event::JOB, job);
    }

    /// An event for this replica's streams only: another replica's, or
    /// one this replica already published in the transaction that wrote it.
    pub fn relay_event(&self, event: &Event) {
        self.send(live_event::EVENT, event);
    }

    /// Another replica changed the cache.
    pub fn relay_cache(&self, usage: &CacheUsage) {
        self.send(live_event::CACHE, usage);
    }

    /// Another replica changed the catalog (or may have, unheard): the
    /// view is stale here too.
    pub fn catalog_changed_elsewhere(&self) {
        self.catalog_generation.fetch_add(1, Ordering::SeqCst);
        self.catalog_dirty.notify_one();
    }

    /// Changes may have been missed (the link to the other replicas was
    /// down): every stream sends its client a fresh snapshot.
    pub fn resync(&self) {
        let _ = self.sender.send(LiveMessage {
            event: RESYNC,
            data: Arc::from(""),
        });
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
