//! PostgreSQL advisory locks, for what replicas sharing one database must
//! do one at a time: migrating, setting up a first start, reconciling the
//! image root. A lock belongs to a session: it is held on a connection of
//! its own, kept out of the pool, and released when that connection
//! closes, also when its process dies. SQLite has one process: nothing to
//! lock against.

use sea_orm::{
    sqlx::{self, postgres::PgConnection, Connection},
    DatabaseConnection, DbBackend, DbErr,
};

/// The locks, by what they guard. Distinct numbers, chosen once.
#[derive(Clone, Copy, Debug)]
pub enum LockKey {
    /// Migrations and the first start's set-up.
    StartUp = 0x6274_7901,
    /// The image root's reconciler.
    ImageRoot = 0x6274_7902,
    /// A room decision in the shared download cache.
    CacheRoom = 0x6274_7903,
}

/// A held advisory lock; dropping it (or its process dying) releases it.
pub struct SessionLock {
    connection: PgConnection,
}

impl SessionLock {
    /// Waits for the lock `key`; `None` on SQLite.
    pub async fn acquire(db: &DatabaseConnection, key: LockKey) -> Result<Option<Self>, DbErr> {
        let Some(mut connection) = own_connection(db).await? else {
            return Ok(None);
        };
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key as i64)
            .execute(&mut connection)
            .await
            .map_err(to_db_err)?;
        Ok(Some(SessionLock { connection }))
    }

    /// Takes the lock `key` if no one holds it; `None` when someone does
    /// (or on SQLite).
    pub async fn try_acquire(db: &DatabaseConnection, key: LockKey) -> Result<Option<Self>, DbErr> {
        let Some(mut connection) = own_connection(db).await? else {
            return Ok(None);
        };
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key as i64)
            .fetch_one(&mut connection)
            .await
            .map_err(to_db_err)?;
        Ok(taken.then_some(SessionLock { connection }))
    }

    /// Checks the lock's connection still answers: while it does, the
    /// lock is held.
    pub async fn still_held(&mut self) -> bool {
        self.connection.ping().await.is_ok()
    }

    /// Releases the lock now (dropping it does too, a moment later).
    pub async fn release(self) {
        let _ = self.connection.close().await;
    }
}

/// A connection of its own to the database `db` is on (PostgreSQL only).
async fn own_connection(db: &DatabaseConnection) -> Result<Option<PgConnection>, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let options = db.get_postgres_connection_pool().connect_options();
    PgConnection::connect_with(&options)
        .await
        .map(Some)
        .map_err(to_db_err)
}

fn to_db_err(error: sqlx::Error) -> DbErr {
    DbErr::Custom(format!("advisory lock: {error}"))
}
