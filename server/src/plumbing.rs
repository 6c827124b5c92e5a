//! The plumbing every service shares: the database, the live hub, the
//! settings, this replica's name, the outbound HTTP client, the metrics,
//! and the task tracker with its shutdown token. Cheap to clone (each part is a handle); the
//! catalog service, the cache and the workers each hold one, so none of
//! them needs the routes' `AppState`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    live::Live,
    metrics::Metrics,
    node::Node,
    outbound::{Outbound, Policy},
    settings::Settings,
};

#[derive(Clone)]
pub struct Core {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    /// This replica: the name its job claims carry, their lease.
    pub node: Node,
    /// Outbound HTTP (catalogs, checksum files, registries, downloads),
    /// under the outbound policy.
    pub http: Outbound,
    pub live: Live,
    /// The Prometheus registry behind `GET /metrics`.
    pub metrics: Metrics,
    /// Cancelled on shutdown; every worker loop watches it.
    pub shutdown: CancellationToken,
    /// Every background task, so shutdown can wait for them.
    pub tasks: TaskTracker,
}

impl Core {
    /// Fresh plumbing over an open database, for the replica `node`, with
    /// its live hub; fails when the outbound client cannot be built (its
    /// TLS roots cannot be read).
    pub fn new(
        settings: Settings,
        db: DatabaseConnection,
        node: Node,
        live: Live,
    ) -> Result<Self, reqwest::Error> {
        let metrics = Metrics::default();
        metrics.set_cache_limits(settings.cache_max_bytes, settings.cache_min_free_bytes);
        let policy = Policy::new(
            settings.outbound_allow.clone(),
            settings.outbound_deny.clone(),
        );
        Ok(Core {
            settings: Arc::new(settings),
            db,
            node,
            http: Outbound::new(policy)?,
            live,
            metrics,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        })
    }
}
