//! The catalog domain: what an image file is, how entries are identified,
//! how the image root is kept in step with the database, and the unified
//! view that collapses entries sharing content or provenance.

pub mod entries;
pub mod format;
pub mod identity;
pub mod import;
pub mod manifest;
pub mod names;
pub mod reconciler;
pub mod sidecar;
pub mod sources;
pub mod unified;
pub mod watch;

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
