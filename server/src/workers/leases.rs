//! Claims on jobs, as leases. A worker claims the oldest queued job of its
//! kind in one statement (`UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP
//! LOCKED LIMIT 1) RETURNING *` on PostgreSQL, so replicas never hand one
//! job out twice and never wait on each other's claims), naming its replica
//! and a lease; its pool renews the lease while the job runs. On PostgreSQL
//! a running job whose lease ran out (its replica died) is claimed like a
//! queued one, and a download resumes from the bytes already on disk. On
//! SQLite the one process is the only claimer: the same statement without
//! the lock clause, and no lease of its own ever runs out under it. A
//! cancel asked on a replica that does not run the job is written on its
//! row for the heartbeat (or the fan-out) of the one that does.
//!
//! Lease times are the database's clock, so replicas' clocks need not agree.

use app::model::{JobKind, JobStatus};
use sea_orm::{
    sea_query::Expr, ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, ExprTrait,
    QueryFilter, Statement, Value,
};

use crate::{
    audit::Actor,
    clock,
    db::entity::job::{self, Entity as Jobs},
    node::Node,
};

/// Seconds since the epoch, by the database's clock, as SQL.
fn database_now(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "extract(epoch from clock_timestamp())::float8",
        // 2440587.5 is the Julian day of the Unix epoch.
        _ => "((julianday('now') - 2440587.5) * 86400.0)",
    }
}

/// Claims the oldest claimable job of the first of `kinds` that has one for
/// `node`: marks it running under a fresh lease and returns it.
pub async fn claim_next(
    db: &DatabaseConnection,
    node: &Node,
    kinds: &[JobKind],
) -> Result<Option<job::Model>, DbErr> {
    for &kind in kinds {
        if let Some(job) = claim_next_of(db, node, kind).await? {
            return Ok(Some(job));
        }
    }
    Ok(None)
}

async fn claim_next_of(
    db: &DatabaseConnection,
    node: &Node,
    kind: JobKind,
) -> Result<Option<job::Model>, DbErr> {
    let backend = db.get_database_backend();
    let now = database_now(backend);
    let values: Vec<Value> = vec![
        JobStatus::Running.as_str().into(),
        clock::now_epoch().into(),
        node.id().into(),
        node.lease.as_secs_f64().into(),
        kind.as_str().into(),
        JobStatus::Queued.as_str().into(),
    ];
    let sql = match backend {
        DbBackend::Postgres => format!(
            "UPDATE jobs SET status = $1, started_at = $2, bytes_done = 0, \
               claimed_by = $3, lease_until = {now} + $4 \
             WHERE id = (SELECT id FROM jobs \
               WHERE kind = $5 AND (status = $6 OR (status = $1 AND lease_until < {now})) \
               ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING *"
        ),
        _ => format!(
            "UPDATE jobs SET status = $1, started_at = $2, bytes_done = 0, \
               claimed_by = $3, lease_until = {now} + $4 \
             WHERE id = (SELECT id FROM jobs WHERE kind = $5 AND status = $6 \
               ORDER BY id LIMIT 1) \
             RETURNING *"
        ),
    };
    Jobs::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .one(db)
        .await
}

/// Claims the job `id` for `node` if it is still queued; returns it then.
pub async fn claim(
    db: &DatabaseConnection,
    node: &Node,
    id: i64,
) -> Result<Option<job::Model>, DbErr> {
    let backend = db.get_database_backend();
    let claimed = Jobs::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Running))
        .col_expr(job::Column::StartedAt, Expr::value(clock::now_epoch()))
        .col_expr(job::Column::ClaimedBy, Expr::value(node.id()))
        .col_expr(job::Column::LeaseUntil, lease_from_now(backend, node))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(JobStatus::Queued))
        .exec_with_returning(db)
        .await?;
    Ok(claimed.into_iter().next())
}

/// Renews `node`'s leases on the running jobs `ids`; returns the rows it
/// still holds. A job missing from the answer was taken over (its lease
/// had run out) or ended elsewhere: its worker must stop. A row may carry
/// a cancel asked on another replica ([`cancel_requested`]).
pub async fn renew(
    db: &DatabaseConnection,
    node: &Node,
    ids: &[i64],
) -> Result<Vec<job::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    Jobs::update_many()
        .col_expr(job::Column::LeaseUntil, lease_from_now(backend, node))
        .filter(job::Column::Id.is_in(ids.iter().copied()))
        .filter(job::Column::ClaimedBy.eq(node.id()))
        .filter(job::Column::Status.eq(JobStatus::Running))
        .exec_with_returning(db)
        .await
}

/// Asks the replica running job `id` to cancel it on behalf of `by` (it
/// runs elsewhere); false when it is not running any more.
pub async fn request_cancel(db: &DatabaseConnection, id: i64, by: &Actor) -> Result<bool, DbErr> {
    let by = serde_json::to_string(by).map_err(|error| DbErr::Custom(error.to_string()))?;
    let asked = Jobs::update_many()
        .col_expr(job::Column::CancelRequestedBy, Expr::value(by))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(JobStatus::Running))
        .exec(db)
        .await?;
    Ok(asked.rows_affected == 1)
}

/// Who asked another replica to cancel this running job, if anyone did.
pub fn cancel_requested(row: &job::Model) -> Option<Actor> {
    let by = row.cancel_requested_by.as_deref()?;
    // Unreadable: still a cancel, by nobody the log can name.
    Some(serde_json::from_str(by).unwrap_or_else(|_| Actor::system()))
}

/// At start-up: puts back in the queue the jobs a stop or a crash of this
/// process left `running`. On SQLite that is every running job; on a
/// shared database only this node's own (a restart under the same name)
/// and unclaimed ones, while other replicas' jobs run on, or are taken
/// over once their leases run out. Returns how many.
pub async fn requeue_interrupted(db: &DatabaseConnection, node: &Node) -> Result<u64, DbErr> {
    let mut requeue = Jobs::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Queued))
        .col_expr(job::Column::BytesDone, Expr::value(0i64))
        .col_expr(job::Column::StartedAt, Expr::value(Option::<f64>::None))
        .col_expr(job::Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<f64>::None))
        .filter(job::Column::Status.eq(JobStatus::Running));
    if node.shared {
        requeue = requeue.filter(
            job::Column::ClaimedBy
                .eq(node.id())
                .or(job::Column::ClaimedBy.is_null()),
        );
    }
    Ok(requeue.exec(db).await?.rows_affected)
}

/// `now + lease`, by the database's clock.
fn lease_from_now(backend: DbBackend, node: &Node) -> sea_orm::sea_query::SimpleExpr {
    // Whole milliseconds: a number written into the SQL, never text.
    let seconds = node.lease.as_millis() as f64 / 1000.0;
    Expr::cust(format!("{} + {seconds:.3}", database_now(backend)))
}
