//! The live stream's payloads: the snapshot and the SSE event names.

use serde::{Deserialize, Serialize};

use super::{CacheUsage, CatalogPage, Job};

/// The first message of the live stream, and the one sent again to a client
/// that fell behind: everything a page needs to redraw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LiveSnapshot {
    pub jobs: Vec<Job>,
    /// The first page of the unfiltered catalog.
    pub catalog: CatalogPage,
    #[serde(default)]
    pub cache: Option<CacheUsage>,
}

/// Names of the live stream's SSE events; the `data` of each is JSON.
pub mod live_event {
    /// [`super::LiveSnapshot`]
    pub const SNAPSHOT: &str = "snapshot";
    /// [`super::Job`]
    pub const JOB: &str = "job";
    /// [`super::CatalogPage`]: the first page of the unfiltered catalog,
    /// after it changed; a client showing another page or filter fetches
    /// `GET /catalog/view` again.
    pub const CATALOG: &str = "catalog";
    /// [`super::Event`]
    pub const EVENT: &str = "event";
    /// [`super::CacheUsage`]: the download cache after it filled or shrank.
    pub const CACHE: &str = "cache";
}
