//! What the hash and the download workers share: waiting for the next
//! queued job of their kind (woken when one is queued, rechecking now and
//! then, stopping at shutdown), and the cancel tokens of the jobs they run,
//! with who cancelled them.

use std::{collections::HashMap, future::Future, sync::Mutex, time::Duration};

use app::model::JobKind;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::jobs;
use crate::{audit::Actor, db::entity::job, plumbing::Core};

/// A safety net: workers look for queued jobs this often even unwoken.
const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// The pause after the database failed to hand out a job.
const CLAIM_RETRY: Duration = Duration::from_secs(1);

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
}

impl JobPool {
    /// New work is queued: one waiting worker looks.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Claims the next queued job of the first of `kinds` that has one,
    /// waiting for one; `None` once the server is stopping.
    pub async fn next(&self, core: &Core, kinds: &[JobKind]) -> Option<job::Model> {
        loop {
            if core.shutdown.is_cancelled() {
                return None;
            }
            let pause = match jobs::claim_next(&core.db, kinds).await {
                Ok(Some(job)) => return Some(job),
                Ok(None) => IDLE_RECHECK,
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
    /// [`JobPool::cancel`] or at shutdown.
    pub fn started(&self, core: &Core, id: i64) -> CancellationToken {
        let token = core.shutdown.child_token();
        if let Ok(mut running) = self.running.lock() {
            running.insert(
                id,
                Running {
                    token: token.clone(),
                    cancelled_by: None,
                },
            );
        }
        token
    }

    /// Asks the running job `id` to stop, on behalf of `by`.
    pub fn cancel(&self, id: i64, by: Actor) {
        if let Ok(mut running) = self.running.lock() {
            if let Some(entry) = running.get_mut(&id) {
                entry.cancelled_by = Some(by);
                entry.token.cancel();
            }
        }
    }

    /// Forgets the job `id`, which stopped running; who cancelled it, if
    /// anyone did.
    pub fn ended(&self, id: i64) -> Option<Actor> {
        self.running
            .lock()
            .ok()
            .and_then(|mut running| running.remove(&id))
            .and_then(|entry| entry.cancelled_by)
    }
}
