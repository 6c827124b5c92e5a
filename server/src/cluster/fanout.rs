//! Live changes between replicas. Every change the hub hears of here (a
//! job, an audit event, the catalog, the cache) is published with
//! `pg_notify` on [`CHANNEL`], in batches: by row id where the row says it
//! all, since a notification holds at most 8000 bytes. One `PgListener` per
//! replica reads the others' batches, reads the rows fresh and feeds them to
//! this replica's hub, so its browsers see them; a queued job wakes the
//! workers of its kind, a cancel asked for a job running here stops it.
//! Notifications sent while the listener was away are lost: when it
//! reconnects, every stream gets a fresh snapshot and the workers look for
//! work (polling stays the safety net).

use std::time::Duration;

use app::model::{CacheUsage, JobKind, JobStatus};
use sea_orm::{
    sqlx::postgres::PgListener, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    QueryFilter, Statement,
};
use serde::{Deserialize, Serialize};

use crate::{
    audit,
    db::entity::job::{self, Entity as Jobs},
    live::{PeerChange, PeerOutbox},
    plumbing::Core,
    workers::{downloads::DownloadWorkers, hashes::HashWorkers, jobs, leases},
};

/// The notification channel every replica listens on.
pub const CHANNEL: &str = "bty_changes";
/// Ids per notification: well under PostgreSQL's 8000-byte payload.
const IDS_PER_BATCH: usize = 400;
/// The pause before listening again after the database failed.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// What one notification carries: changes one replica made.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Batch {
    node: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    jobs: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    events: Vec<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    catalog: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache: Option<CacheUsage>,
}

impl Batch {
    fn add(&mut self, change: PeerChange) {
        match change {
            PeerChange::Job(id) if !self.jobs.contains(&id) => self.jobs.push(id),
            PeerChange::Event(id) => self.events.push(id),
            PeerChange::Catalog => self.catalog = true,
            PeerChange::Cache(usage) => self.cache = Some(usage),
            PeerChange::Job(_) => {}
        }
    }

    /// The batch cut into notifications that fit.
    fn payloads(self) -> Vec<String> {
        let Batch {
            node,
            jobs,
            events,
            catalog,
            cache,
        } = self;
        let mut parts = vec![Batch {
            node: node.clone(),
            catalog,
            cache,
            ..Batch::default()
        }];
        for chunk in jobs.chunks(IDS_PER_BATCH) {
            parts.push(Batch {
                node: node.clone(),
                jobs: chunk.to_vec(),
                ..Batch::default()
            });
        }
        for chunk in events.chunks(IDS_PER_BATCH) {
            parts.push(Batch {
                node: node.clone(),
                events: chunk.to_vec(),
                ..Batch::default()
            });
        }
        parts
            .into_iter()
            .filter(|part| part.carries_something())
            .filter_map(|part| serde_json::to_string(&part).ok())
            .collect()
    }

    fn carries_something(&self) -> bool {
        !self.jobs.is_empty() || !self.events.is_empty() || self.catalog || self.cache.is_some()
    }
}

/// Publishes this replica's changes until shutdown: each as soon as the
/// previous notification went out, with whatever came in meanwhile.
pub async fn publish(core: Core, mut outbox: PeerOutbox) {
    loop {
        let first = tokio::select! {
            _ = core.shutdown.cancelled() => return,
            change = outbox.recv() => match change {
                Some(change) => change,
                None => return,
            },
        };
        let mut batch = Batch {
            node: core.node.id().to_owned(),
            ..Batch::default()
        };
        batch.add(first);
        while let Ok(change) = outbox.try_recv() {
            batch.add(change);
        }
        for payload in batch.payloads() {
            if let Err(error) = notify(&core, &payload).await {
                tracing::warn!(%error, "a change was not published to the other replicas");
            }
        }
    }
}

async fn notify(core: &Core, payload: &str) -> Result<(), DbErr> {
    send_notification(&core.db, payload).await
}

async fn send_notification(db: &impl ConnectionTrait, payload: &str) -> Result<(), DbErr> {
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    );
    db.execute_raw(statement).await.map(|_| ())
}

/// A row whose change its writer announces in its own transaction.
#[derive(Clone, Copy, Debug)]
pub enum Announced {
    Event(i64),
    Job(i64),
}

/// Publishes the change `announced` that replica `node` is writing, on the
/// writer's transaction `txn`: PostgreSQL delivers it when, and only if,
/// the write commits, so no replica misses a change that was made.
pub async fn notify_in(
    txn: &impl ConnectionTrait,
    node: &str,
    announced: Announced,
) -> Result<(), DbErr> {
    let mut batch = Batch {
        node: node.to_owned(),
        ..Batch::default()
    };
    match announced {
        Announced::Event(id) => batch.events.push(id),
        Announced::Job(id) => batch.jobs.push(id),
    }
    let payload = serde_json::to_string(&batch).map_err(|e| DbErr::Custom(e.to_string()))?;
    send_notification(txn, &payload).await
}

/// The workers a peer's changes wake or stop.
#[derive(Clone)]
pub struct Workers {
    pub hashes: HashWorkers,
    pub downloads: DownloadWorkers,
}

/// This replica's listener for the others' changes.
pub struct Listener {
    core: Core,
    workers: Workers,
    listener: PgListener,
}

impl Listener {
    /// Listens on [`CHANNEL`] from now on (before the replica serves, so
    /// no change made after its start-up is missed).
    pub async fn connect(core: Core, workers: Workers) -> Result<Self, sea_orm::sqlx::Error> {
        let listener = listen(&core.settings.database_url()).await?;
        Ok(Listener {
            core,
            workers,
            listener,
        })
    }

    /// Feeds the other replicas' changes to this one until shutdown.
    pub async fn run(self) {
        let Listener {
            core,
            workers,
            mut listener,
        } = self;
        loop {
            let received = tokio::select! {
                _ = core.shutdown.cancelled() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => receive(&core, &workers, notification.payload()).await,
                // The connection dropped and was made again: what was sent
                // meanwhile is lost.
                Ok(None) => missed(&core, &workers),
                Err(error) => {
                    tracing::warn!(%error, "lost the other replicas' changes; listening again");
                    listener = loop {
                        tokio::select! {
                            _ = core.shutdown.cancelled() => return,
                            _ = tokio::time::sleep(RECONNECT_EVERY) => {}
                        }
                        match listen(&core.settings.database_url()).await {
                            Ok(listener) => break listener,
                            Err(error) => tracing::warn!(%error, "cannot listen for changes"),
                        }
                    };
                    missed(&core, &workers);
                }
            }
        }
    }
}

async fn listen(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Changes may have been missed: fresh snapshots, and a look for work.
fn missed(core: &Core, workers: &Workers) {
    core.live.catalog_changed_elsewhere();
    core.live.resync();
    workers.hashes.wake();
    workers.downloads.wake();
}

async fn receive(core: &Core, workers: &Workers, payload: &str) {
    let batch: Batch = match serde_json::from_str(payload) {
        Ok(batch) => batch,
        Err(error) => {
            tracing::warn!(%error, "unreadable change from another replica");
            return;
        }
    };
    if batch.node == core.node.id() {
        return;
    }
    if let Err(error) = relay(core, workers, batch).await {
        tracing::warn!(%error, "a change from another replica was not shown here");
        // What could not be read is shown by a fresh snapshot instead.
        core.live.resync();
    }
}

async fn relay(core: &Core, workers: &Workers, batch: Batch) -> Result<(), DbErr> {
    // The catalog first: a download's end, relayed below, sends its
    // readers here to the cache, which the catalog must already show.
    if batch.catalog {
        core.live.catalog_changed_elsewhere();
    }
    if !batch.jobs.is_empty() {
        let rows = Jobs::find()
            .filter(job::Column::Id.is_in(batch.jobs.iter().copied()))
            .all(&core.db)
            .await?;
        for row in rows {
            core.live.relay_job(&jobs::to_wire(&row));
            react(core, workers, &row);
        }
    }
    if !batch.events.is_empty() {
        for event in audit::by_ids(&core.db, &batch.events).await? {
            core.live.relay_event(&event);
        }
    }
    if let Some(usage) = &batch.cache {
        core.live.relay_cache(usage);
    }
    Ok(())
}

/// What a job another replica changed asks of this one: a queued one wakes
/// the workers of its kind; a cancel asked for one running here stops it;
/// a download's readers here follow its progress.
fn react(core: &Core, workers: &Workers, row: &job::Model) {
    if row.kind == JobKind::Download {
        workers.downloads.relay_fill(row);
    }
    match row.status {
        JobStatus::Queued => match row.kind {
            JobKind::Download => workers.downloads.wake(),
            JobKind::Hash | JobKind::Inspect => workers.hashes.wake(),
        },
        JobStatus::Running if row.claimed_by.as_deref() == Some(core.node.id()) => {
            if let Some(by) = leases::cancel_requested(row) {
                match row.kind {
                    JobKind::Download => workers.downloads.stop_here(row.id, by),
                    JobKind::Hash | JobKind::Inspect => workers.hashes.stop_here(row.id, by),
                };
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_each_job_once_and_splits_to_fit_a_notification() {
        let mut batch = Batch {
            node: "web-1:8080".into(),
            ..Batch::default()
        };
        for id in 0..1000 {
            batch.add(PeerChange::Job(id % 900));
            batch.add(PeerChange::Event(id));
        }
        batch.add(PeerChange::Catalog);
        let payloads = batch.payloads();
        // catalog; 900 jobs in 3; 1000 events in 3.
        assert_eq!(payloads.len(), 7);
        let mut jobs = Vec::new();
        let mut events = 0;
        for payload in &payloads {
            assert!(payload.len() < 8000, "{} bytes", payload.len());
            let part: Batch = serde_json::from_str(payload).expect("a batch");
            assert_eq!(part.node, "web-1:8080");
            jobs.extend(part.jobs);
            events += part.events.len();
        }
        assert_eq!(jobs, (0..900).collect::<Vec<_>>());
        assert_eq!(events, 1000);
        assert_eq!(
            serde_json::from_str::<Batch>(&payloads[0]).expect("a batch"),
            Batch {
                node: "web-1:8080".into(),
                catalog: true,
                ..Batch::default()
            }
        );
    }
}
