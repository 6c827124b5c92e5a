//! The database schema, as sea-orm migrations: the only source of it. They
//! run at start-up and in tests, on SQLite and PostgreSQL alike, so they keep
//! to portable sea-query.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_active_token_names;
mod m20261126_000003_downloads;
mod m20261203_000004_inspections;
mod m20261204_000010_cache_policy;
mod m20261204_000020_cluster_leases;
mod m20261204_000021_cluster_login_failures;
mod m20261204_000022_storage_uploads;
mod m20261204_000023_cache_reservations;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_active_token_names::Migration),
            Box::new(m20261126_000003_downloads::Migration),
            Box::new(m20261203_000004_inspections::Migration),
            Box::new(m20261204_000010_cache_policy::Migration),
            Box::new(m20261204_000020_cluster_leases::Migration),
            Box::new(m20261204_000021_cluster_login_failures::Migration),
            Box::new(m20261204_000022_storage_uploads::Migration),
            Box::new(m20261204_000023_cache_reservations::Migration),
        ]
    }
}
