//! What the hash and the download workers share: waiting for the next
//! claimable job of their kind (woken when one is queued, here or on
//! another replica, rechecking now and then, stopping at shutdown), the
//! heartbeat that renews the leases of the jobs they run (see
//! [`super::leases`]), and the cancel tokens of those jobs, with who
//! cancelled them.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::Mutex,
    time::Duration,
};

use app::model::JobKind;
use sea_orm::DbErr;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::leases;
use crate::{audit::Actor, db::entity::job, plumbing::Core};

/// A safety net: workers look for queued jobs this often even unwoken.
const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// The pause after the database failed to hand out a job.
const CLAIM_RETRY: Duration = Duration::from_secs(1);
/// The most often leases are renewed.
const MIN_HEARTBEAT: Duration = Duration::from_millis(500);

/// Starts `count` copies of a worker loop on the core's task tracker, each
/// with its own clone of the workers' handle.
pub fn spawn_workers<W, F>(core: &Core, count: u32, workers: &W, work: fn(W) -> F)
where
    W: Clone,
    F: Future<Output = ()> + Send + 'static,
{
    for _ in 0..count {
        core.tasks.spawn(work(workers.clone()));
    }
}

/// One kind's workers: their wake-up and their running jobs.
#[derive(Default)]
pub struct JobPool {
    wake: Notify,
    running: Mutex<HashMap<i64, Running>>,
}

struct Running {
    token: CancellationToken,
    cancelled_by: Option<Actor>,
    lease_lost: bool,
}

/// Why a job's run stopped, beyond its own outcome.
#[derive(Debug, Default)]
pub struct Ended {
    /// Who cancelled it, if anyone did.
    pub cancelled_by: Option<Actor>,
    /// Its lease was lost (another replica took it over, or it ended
    /// elsewhere): the run must leave the row and its files alone.
    pub lease_lost: bool,
}

impl JobPool {
    /// New work is queued: one waiting worker looks.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Claims the next claimable job of the first of `kinds` that has one,
    /// waiting for one; `None` once the server is stopping.
    pub async fn next(&self, core: &Core, kinds: &[JobKind]) -> Option<job::Model> {
        // Another replica's lease can run out unannounced: look that often.
        let idle = if core.node.shared {
            IDLE_RECHECK.min(core.node.lease)
        } else {
            IDLE_RECHECK
        };
        loop {
            if core.shutdown.is_cancelled() {
                return None;
            }
            let pause = match leases::claim_next(&core.db, &core.node, kinds).await {
                Ok(Some(job)) => return Some(job),
                Ok(None) => idle,
                Err(error) => {
                    tracing::error!(%error, ?kinds, "a worker could not claim a job");
                    CLAIM_RETRY
                }
            };
            tokio::select! {
                _ = core.shutdown.cancelled() => return None,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Registers a job that starts running; its token is cancelled by
    /// [`JobPool::cancel`], when its lease is lost, or at shutdown.
    pub fn started(&self, core: &Core, id: i64) -> CancellationToken {
        let token = core.shutdown.child_token();
        if let Ok(mut running) = self.running.lock() {
            running.insert(
                id,
                Running {
                    token: token.clone(),
                    cancelled_by: None,
                    lease_lost: false,
                },
            );
        }
        token
    }

    /// Asks the running job `id` to stop, on behalf of `by`; false when it
    /// does not run here. A first cancel is the one the log names.
    pub fn cancel(&self, id: i64, by: Actor) -> bool {
        let Ok(mut running) = self.running.lock() else {
            return false;
        };
        let Some(entry) = running.get_mut(&id) else {
            return false;
        };
        if entry.cancelled_by.is_none() {
            entry.cancelled_by = Some(by);
        }
        entry.token.cancel();
        true
    }

    /// Cancels the running job `id` here, or else asks the replica it runs
    /// on (through its row).
    pub async fn cancel_anywhere(&self, core: &Core, id: i64, by: Actor) -> Result<(), DbErr> {
        if !self.cancel(id, by.clone()) {
            leases::request_cancel(&core.db, id, &by).await?;
            // The replica running it hears at once (see `cluster::fanout`).
            if let Some(row) = super::jobs::get(&core.db, id).await? {
                core.live.job(&super::jobs::to_wire(&row));
            }
        }
        Ok(())
    }

    /// Forgets the job `id`, which stopped running; why it stopped.
    pub fn ended(&self, id: i64) -> Ended {
        self.running
            .lock()
            .ok()
            .and_then(|mut running| running.remove(&id))
            .map(|entry| Ended {
                cancelled_by: entry.cancelled_by,
                lease_lost: entry.lease_lost,
            })
            .unwrap_or_default()
    }

    /// Renews the leases of the jobs running here until shutdown, a third
    /// of the lease apart; stops a job whose lease was lost.
    pub async fn keep_leases(&self, core: &Core) {
        let every = (core.node.lease / 3).max(MIN_HEARTBEAT);
        loop {
            tokio::select! {
                _ = core.shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let ids: Vec<i64> = match self.running.lock() {
                Ok(running) => running.keys().copied().collect(),
                Err(_) => continue,
            };
            if ids.is_empty() {
                continue;
            }
            let held = match leases::renew(&core.db, &core.node, &ids).await {
                Ok(held) => held,
                Err(error) => {
                    tracing::warn!(%error, "job leases not renewed");
                    continue;
                }
            };
            for row in &held {
                if let Some(by) = leases::cancel_requested(row) {
                    self.cancel(row.id, by);
                }
            }
            let held: HashSet<i64> = held.iter().map(|row| row.id).collect();
            if let Ok(mut running) = self.running.lock() {
                for id in ids.iter().filter(|id| !held.contains(id)) {
                    // It may have just ended by itself: then it is gone here.
                    if let Some(entry) = running.get_mut(id) {
                        tracing::warn!(job = id, "job lease lost; its run stops here");
                        entry.lease_lost = true;
                        entry.token.cancel();
                    }
                }
            }
        }
    }
}
