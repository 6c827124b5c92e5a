//! What replicas sharing one PostgreSQL database do together beyond job
//! leases (`workers/leases.rs`): they hear of each other's changes
//! ([`fanout`]: `pg_notify` out, one `PgListener` in, feeding the local
//! live hub), and one of them at a time reconciles the shared image root
//! ([`leader`]: a PostgreSQL advisory lock). On SQLite the process is alone
//! and none of it runs.

pub mod fanout;
pub mod leader;
