//! sea-orm entities, one per table of `migration`.

pub mod api_token;
pub mod catalog_entry;
pub mod event;
pub mod job;
pub mod operator;
pub mod session;
