//! A running download's reporting: its row (attempt, validator, absolute
//! byte counts every [`EVERY`]), the live stream (the job, and the cache's
//! growing usage every [`CACHE_EVERY`]), and the fill channel
//! stream-through readers follow (every chunk).

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use tokio::sync::watch;

use super::fill::Fill;
use crate::{cache, plumbing::Core, workers::jobs};

/// How often a running download reports progress.
pub const EVERY: Duration = Duration::from_millis(250);
/// How often a running download re-reads the cache's disk usage for open
/// pages (the partial file grows it).
const CACHE_EVERY: Duration = Duration::from_secs(2);

/// The reporting side of one running job.
pub struct Progress {
    core: Core,
    id: i64,
    validator: Mutex<Option<String>>,
    fill: watch::Sender<Fill>,
    cache_published: Mutex<Instant>,
}

impl Progress {
    pub fn new(core: &Core, id: i64, validator: Option<String>, fill: watch::Sender<Fill>) -> Self {
        Progress {
            core: core.clone(),
            id,
            validator: Mutex::new(validator),
            fill,
            cache_published: Mutex::new(Instant::now()),
        }
    }

    /// The validator the first full answer carried, if any.
    pub fn validator(&self) -> Option<String> {
        self.validator.lock().ok().and_then(|v| v.clone())
    }

    /// Records the validator of a full answer (a changed upstream's new one).
    pub async fn set_validator(&self, validator: Option<String>) {
        let changed = match self.validator.lock() {
            Ok(mut current) if *current != validator => {
                current.clone_from(&validator);
                true
            }
            _ => false,
        };
        if changed {
            if let Err(error) =
                jobs::set_validator(&self.core.db, self.id, validator.as_deref()).await
            {
                tracing::warn!(%error, job = self.id, "validator not recorded");
            }
        }
    }

    /// Records the attempt now starting.
    pub async fn attempt(&self, attempt: u32) {
        if let Err(error) = jobs::set_attempt(&self.core.db, self.id, attempt).await {
            tracing::warn!(%error, job = self.id, "attempt not recorded");
        }
        self.publish().await;
    }

    /// Records absolute progress and pushes it to live streams.
    pub async fn report(&self, done: u64, total: Option<u64>) {
        if let Err(error) = jobs::progress(&self.core.db, self.id, done, total).await {
            tracing::warn!(%error, job = self.id, "progress not recorded");
        }
        self.publish().await;
        self.publish_cache_usage().await;
    }

    /// Bytes now handed to the partial file (every chunk).
    pub fn written(&self, bytes: u64) {
        self.fill.send_modify(|fill| fill.written = bytes);
    }

    /// The upstream answered; the partial file holds `bytes` and will hold
    /// `total` when complete.
    pub fn responded(&self, bytes: u64, total: Option<u64>) {
        self.fill.send_modify(|fill| {
            fill.responded = true;
            fill.written = bytes;
            fill.total = total;
        });
    }

    /// The partial file was emptied: readers of what it held must stop.
    pub fn restarted(&self) {
        self.fill.send_modify(|fill| {
            fill.generation += 1;
            fill.written = 0;
            fill.responded = false;
            fill.total = None;
        });
    }

    /// The cache's usage to open pages, at most every [`CACHE_EVERY`].
    async fn publish_cache_usage(&self) {
        let due = match self.cache_published.lock() {
            Ok(mut last) if last.elapsed() >= CACHE_EVERY => {
                *last = Instant::now();
                true
            }
            _ => false,
        };
        if due {
            let usage = cache::usage_now(&self.core.settings).await;
            self.core.live.cache(&usage);
        }
    }

    async fn publish(&self) {
        if let Ok(Some(row)) = jobs::get(&self.core.db, self.id).await {
            self.core.live.job(&jobs::to_wire(&row));
        }
    }
}
