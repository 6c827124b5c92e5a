//! The catalog domain: what an image file is, how entries are identified,
//! how the image root is kept in step with the database, and the unified
//! view that collapses entries sharing content or provenance.

pub mod format;
pub mod identity;
pub mod manifest;
pub mod names;
pub mod reconciler;
pub mod sidecar;
pub mod unified;
