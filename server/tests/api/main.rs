//! Integration tests: the real application on 127.0.0.1, a fresh state
//! directory and SQLite database per test, driven over HTTP.

mod auth;
mod bundles;
mod bytes;
mod catalog_oras;
mod catalogs;
mod cli;
mod downloads;
mod entries;
mod event_details;
mod events;
mod events_page;
mod hashes;
mod helpers;
mod inspections;
mod listing;
mod live;
mod metrics;
mod node;
mod openapi;
mod oras;
mod outbound;
mod reconciler;
mod registry;
mod restart;
mod storage;
mod stream_through;
mod tokens;
mod uploads;
mod upstream;
mod upstream_files;
