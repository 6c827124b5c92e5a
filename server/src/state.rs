//! The one state every handler, worker and page shares: cheap to clone.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sea_orm::DatabaseConnection;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::throttle::LoginThrottle,
    catalog::{reconciler::Reconciler, ImageRootLock},
    live::Live,
    metrics::Metrics,
    pages::CatalogCache,
    settings::Settings,
    workers::{downloads::DownloadWorkers, hashes::HashWorkers},
};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    /// Outbound HTTP (catalogs, checksum files, registries, downloads).
    pub http: reqwest::Client,
    pub live: Live,
    /// The unified catalog, rebuilt only after a change.
    pub catalog_cache: CatalogCache,
    pub hashes: HashWorkers,
    pub downloads: DownloadWorkers,
    pub reconciler: Reconciler,
    pub root_lock: ImageRootLock,
    pub login_throttle: LoginThrottle,
    /// The Prometheus registry behind `GET /metrics`.
    pub metrics: Metrics,
    pub leptos_options: LeptosOptions,
    /// Cancelled on shutdown; every worker loop watches it.
    pub shutdown: CancellationToken,
    /// Every background task, so shutdown can wait for them.
    pub tasks: TaskTracker,
}
