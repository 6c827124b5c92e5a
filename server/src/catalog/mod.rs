//! The catalog domain: what an image file is, how entries are identified,
//! the service that owns the catalog rows ([`Catalog`]: lookups by key,
//! every write, the freshness rule, the change signal and the unified view
//! that collapses entries sharing content or provenance), adding by URL,
//! importing catalogs, and what rows record for the cache's policy.

pub mod cache_marks;
pub mod entries;
pub mod events;
pub mod format;
pub mod identity;
pub mod import;
pub mod inspections;
pub mod lookup;
pub mod manifest;
pub mod names;
mod service;
pub mod sidecar;
pub mod sources;
pub mod stamp;
pub mod unified;

pub use service::{Catalog, DeleteError};

use std::sync::Arc;

/// Serializes changes to the image root and its `local` rows: a reconcile
/// pass, an upload's commit and a hash's commit each hold it, so none of
/// them sees another half done (a renamed file whose row is not yet
/// updated, say).
#[derive(Clone, Default)]
pub struct ImageRootLock(Arc<tokio::sync::Mutex<()>>);

impl ImageRootLock {
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.lock().await
    }
}
