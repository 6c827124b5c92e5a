//! Cluster tests: two `bty-web` processes (replicas) on one PostgreSQL
//! database, sharing one state directory (image root and download cache),
//! driven over HTTP, directly or through nginx (`balancer`); one is killed
//! with SIGKILL where a test says so.
//!
//! They need a PostgreSQL server: `BTY_TEST_POSTGRES_URL` (as for the `api`
//! tests on PostgreSQL); without it every test fails and says so. Plain
//! `cargo test` leaves this target out (`test = false` in Cargo.toml);
//! `scripts/test.sh` runs it in its PostgreSQL step:
//!
//!     BTY_TEST_POSTGRES_URL=$(scripts/postgres.sh start DIR) cargo test --test cluster
//!
//! The object-store tests (`storage`) need a Garage server too: the
//! `BTY_TEST_S3_*` variables `scripts/garage.sh start DIR` prints.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
mod replicas;
#[path = "../api/upstream_files.rs"]
#[allow(dead_code)]
mod upstream_files;

mod balanced;
mod balancer;
mod downloads;
mod image_root;
mod live;
mod quota;
mod sessions;
mod storage;
mod uploads;
