//! Database access: connecting (SQLite by default, PostgreSQL by URL),
//! migrating, the entities, and the advisory locks replicas take turns by.

pub mod entity;
pub mod lock;

use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Connects to `url` and runs every pending migration.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        // A file database under load: WAL lets readers and the one writer
        // proceed together, and the busy timeout queues writers instead of
        // failing them. A few connections are plenty for one process.
        options.max_connections(4).map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    } else {
        options.max_connections(10);
    }
    let db = Database::connect(options).await?;
    // Replicas starting together migrate one after the other.
    let lock = lock::SessionLock::acquire(&db, lock::LockKey::StartUp).await?;
    let migrated = migration::Migrator::up(&db, None).await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    migrated?;
    Ok(db)
}

/// Begins a transaction that reads and then writes. On SQLite it takes the
/// write lock at `BEGIN` (`BEGIN IMMEDIATE`), so it waits out the busy
/// timeout behind another writer; a deferred one that read first fails at
/// once with "database is locked" when a writer committed in between. Other
/// databases ignore the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}
