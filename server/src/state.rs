//! The routes' state: the services handlers and page rendering call,
//! bundled for axum. Only `routes/`, `pages.rs` and `startup.rs` see it;
//! the services and workers hold just what they use.

use std::ops::Deref;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::{
    auth::throttle::LoginThrottle,
    cache::Cache,
    catalog::Catalog,
    metrics::Metrics,
    plumbing::Core,
    quota::CacheQuota,
    workers::{downloads::DownloadWorkers, hashes::HashWorkers, reconciler::Reconciler},
};

#[derive(Clone, FromRef)]
pub struct AppState {
    /// The plumbing (database, live hub, settings, outbound client,
    /// metrics, tasks); its fields read as the state's own (`state.db`).
    pub core: Core,
    /// The owner of the catalog rows and their unified view.
    pub catalog: Catalog,
    /// The download cache.
    pub cache: Cache,
    /// The cache's quota: eviction to make room, last uses.
    pub quota: CacheQuota,
    pub hashes: HashWorkers,
    pub downloads: DownloadWorkers,
    /// Asks the image-root reconciler for a pass.
    pub reconciler: Reconciler,
    pub login_throttle: LoginThrottle,
    pub leptos_options: LeptosOptions,
}

impl Deref for AppState {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.core.metrics.clone()
    }
}
