//! One replica at a time reconciles the shared image root: the one holding
//! a PostgreSQL advisory lock on a connection of its own. The others try
//! again every [`RETRY_EVERY`]; when the leader dies (or stops), its
//! connection closes, the lock is free, and the next to try takes over,
//! with a full pass first. Every replica still watches the root and serves
//! it; only the leader writes its rows and queues its hashes.

use std::time::Duration;

use tokio::sync::watch;

use crate::{
    db::lock::{LockKey, SessionLock},
    plumbing::Core,
};

/// How often a replica that does not lead tries to.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);
/// How often the leader checks its lock's connection still answers.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Leadership of a process alone on its database: always.
pub fn alone() -> watch::Receiver<bool> {
    watch::channel(true).1
}

/// Tries for the image root's lock once now, then keeps trying (or
/// holding) until shutdown on the core's tasks; the receiver says whether
/// this replica leads.
pub async fn elect(core: &Core) -> watch::Receiver<bool> {
    let lock = try_lock(core).await;
    let (leading, receiver) = watch::channel(lock.is_some());
    if lock.is_some() {
        tracing::info!(
            node = core.node.id(),
            "this replica reconciles the image root"
        );
    }
    core.tasks.spawn(keep_trying(core.clone(), lock, leading));
    receiver
}

async fn keep_trying(core: Core, mut lock: Option<SessionLock>, leading: watch::Sender<bool>) {
    loop {
        let wait = if lock.is_some() {
            CHECK_EVERY
        } else {
            RETRY_EVERY
        };
        tokio::select! {
            _ = core.shutdown.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
        lock = match lock.take() {
            Some(mut held) => {
                if held.still_held().await {
                    Some(held)
                } else {
                    tracing::warn!("lost the image root's lock; another replica may take over");
                    leading.send_replace(false);
                    None
                }
            }
            None => {
                let taken = try_lock(&core).await;
                if taken.is_some() {
                    tracing::info!(
                        node = core.node.id(),
                        "this replica now reconciles the image root"
                    );
                    leading.send_replace(true);
                }
                taken
            }
        };
    }
    leading.send_replace(false);
    if let Some(held) = lock {
        // At once, so the next replica need not wait for the socket to close.
        held.release().await;
    }
}

async fn try_lock(core: &Core) -> Option<SessionLock> {
    match SessionLock::try_acquire(&core.db, LockKey::ImageRoot).await {
        Ok(lock) => lock,
        Err(error) => {
            tracing::warn!(%error, "cannot try for the image root's lock");
            None
        }
    }
}
