//! bty-web images: the server. `main` stays short; everything it uses is
//! here so tests build the application exactly the way `main` does.
//!
//! Comments cite the reference's defects we fix as `D1`…`D23` and its
//! sections as "reference §1.2"; `docs/decisions.md` lists both.

// Leptos view types nest deeply; rendering them in-process needs room.
#![recursion_limit = "256"]

pub mod atomic_file;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod db;
pub mod digest;
pub mod error;
pub mod ingest;
pub mod inspect;
pub mod live;
pub mod metrics;
pub mod node;
pub mod openapi;
pub mod oras;
pub mod outbound;
pub mod pages;
pub mod plumbing;
pub mod quota;
pub mod read_ahead;
pub mod retry;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod uploads;
pub mod workers;
