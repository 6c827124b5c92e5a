//! Cache fills that readers can follow: one `watch` channel per entry
//! source being downloaded, carrying how many bytes the partial file has,
//! the total when known, a generation bumped whenever the file starts over,
//! and the outcome. A stream-through reader tails the partial file by it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::watch;

/// The state of one fill.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fill {
    /// The upstream answered: the partial file exists and `total` is known
    /// if the upstream said.
    pub responded: bool,
    /// Bytes handed to the partial file's writer.
    pub written: u64,
    pub total: Option<u64>,
    /// Bumped when the partial file starts over: a reader of the old
    /// content must stop.
    pub generation: u32,
    pub outcome: Option<Finished>,
}

/// How a fill ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finished {
    /// Verified and renamed into the cache.
    Completed,
    Failed(String),
}

/// The fills now running, by entry source.
#[derive(Clone, Default)]
pub struct Fills(Arc<Mutex<HashMap<String, watch::Sender<Fill>>>>);

impl Fills {
    /// The channel of the fill of `src`, created fresh if none is running.
    pub fn sender(&self, src: &str) -> watch::Sender<Fill> {
        let Ok(mut fills) = self.0.lock() else {
            return watch::channel(Fill::default()).0;
        };
        fills
            .entry(src.to_owned())
            .or_insert_with(|| watch::channel(Fill::default()).0)
            .clone()
    }

    /// The channel of the fill of `src` if anyone follows or runs it here.
    pub fn followed(&self, src: &str) -> Option<watch::Sender<Fill>> {
        self.0.lock().ok()?.get(src).cloned()
    }

    /// Ends the fill of `src`: its readers see the outcome.
    pub fn end(&self, src: &str, outcome: Finished) {
        let sender = self.0.lock().ok().and_then(|mut f| f.remove(src));
        if let Some(sender) = sender {
            sender.send_modify(|fill| fill.outcome = Some(outcome));
        }
    }
}
