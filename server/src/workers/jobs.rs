//! Job rows: creating, progressing and finishing them (claiming them is
//! `leases.rs`). The row is the truth; channels only notify.

use std::collections::HashMap;

use app::model::{Job, JobKind, JobStatus};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use crate::{
    clock,
    cluster::fanout::{self, Announced},
    db::entity::job::{self, DownloadMode, Entity as Jobs},
    node::Node,
};

/// How many recent jobs the panes and snapshots carry.
const RECENT_JOBS: u64 = 500;

/// Creates a queued job.
pub async fn create(
    db: &DatabaseConnection,
    kind: JobKind,
    name: &str,
    path: Option<String>,
    bytes_total: Option<u64>,
) -> Result<job::Model, DbErr> {
    queued(kind, name, path, bytes_total).insert(db).await
}

/// A queued job's row, not yet inserted. Whatever a worker needs goes in
/// before the insert: a worker (here or on another replica) may claim the
/// row the moment it exists.
fn queued(
    kind: JobKind,
    name: &str,
    path: Option<String>,
    bytes_total: Option<u64>,
) -> job::ActiveModel {
    job::ActiveModel {
        kind: Set(kind),
        name: Set(name.to_owned()),
        path: Set(path),
        src: Set(None),
        status: Set(JobStatus::Queued),
        bytes_done: Set(0),
        bytes_total: Set(bytes_total.map(to_i64)),
        sha256: Set(None),
        error: Set(None),
        created_at: Set(clock::now_epoch()),
        started_at: Set(None),
        finished_at: Set(None),
        attempt: Set(0),
        validator: Set(None),
        mode: Set(DownloadMode::Fetch),
        claimed_by: Set(None),
        lease_until: Set(None),
        cancel_requested_by: Set(None),
        ..Default::default()
    }
}

/// Creates a queued download of the entry `src`, named `name`, writing
/// the partial file `partial`, resuming what it holds under `validator`.
/// An entry has one active download at most: a second one is refused
/// with a unique-constraint error (see [`is_duplicate`]).
pub async fn create_download(
    db: &DatabaseConnection,
    name: &str,
    src: &str,
    partial: &str,
    mode: DownloadMode,
    bytes_total: Option<u64>,
    validator: Option<String>,
) -> Result<job::Model, DbErr> {
    let mut row = queued(
        JobKind::Download,
        name,
        Some(partial.to_owned()),
        bytes_total,
    );
    row.src = Set(Some(src.to_owned()));
    row.mode = Set(mode);
    row.validator = Set(validator);
    row.insert(db).await
}

/// True for the error of a second active download of one entry.
pub fn is_duplicate(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Creates a queued inspection of the bytes `sha256` (`bytes` long) at
/// `path`, shown under `name`. The job carries the digest of what it
/// inspects from the start: the finding is recorded under it.
pub async fn create_inspection(
    db: &DatabaseConnection,
    name: &str,
    path: &str,
    sha256: &str,
    bytes: u64,
) -> Result<job::Model, DbErr> {
    let mut row = queued(JobKind::Inspect, name, Some(path.to_owned()), Some(bytes));
    row.sha256 = Set(Some(sha256.to_owned()));
    row.insert(db).await
}

/// The newest download of the entry `src`.
pub async fn latest_download(
    db: &DatabaseConnection,
    src: &str,
) -> Result<Option<job::Model>, DbErr> {
    Jobs::find()
        .filter(job::Column::Kind.eq(JobKind::Download))
        .filter(job::Column::Src.eq(src))
        .order_by_desc(job::Column::Id)
        .one(db)
        .await
}

/// The newest download per entry source, oldest first.
pub async fn latest_downloads(db: &DatabaseConnection) -> Result<Vec<job::Model>, DbErr> {
    let rows = Jobs::find()
        .filter(job::Column::Kind.eq(JobKind::Download))
        .order_by_desc(job::Column::Id)
        .limit(RECENT_JOBS)
        .all(db)
        .await?;
    let mut seen = std::collections::HashSet::new();
    let mut latest: Vec<job::Model> = rows
        .into_iter()
        .filter(|row| seen.insert(row.src.clone().unwrap_or_else(|| row.name.clone())))
        .collect();
    latest.reverse();
    Ok(latest)
}

/// Queued and running downloads (their partial files are kept).
pub async fn active_downloads(db: &DatabaseConnection) -> Result<Vec<job::Model>, DbErr> {
    Jobs::find()
        .filter(job::Column::Kind.eq(JobKind::Download))
        .filter(job::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
        .all(db)
        .await
}

/// Records the attempt a download is on.
pub async fn set_attempt(db: &DatabaseConnection, id: i64, attempt: u32) -> Result<(), DbErr> {
    Jobs::update_many()
        .col_expr(job::Column::Attempt, Expr::value(attempt as i32))
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records the upstream validator a resumed download sends in `If-Range`.
pub async fn set_validator(
    db: &DatabaseConnection,
    id: i64,
    validator: Option<&str>,
) -> Result<(), DbErr> {
    Jobs::update_many()
        .col_expr(
            job::Column::Validator,
            Expr::value(validator.map(str::to_owned)),
        )
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records work already done (a digest known without hashing, an upload
/// hashed as it streamed) as a job that completed at once.
pub async fn record_completed(
    db: &DatabaseConnection,
    kind: JobKind,
    name: &str,
    path: Option<String>,
    sha256: &str,
    bytes: u64,
) -> Result<job::Model, DbErr> {
    let created = create(db, kind, name, path, Some(bytes)).await?;
    let now = clock::now_epoch();
    let mut done: job::ActiveModel = created.into();
    done.status = Set(JobStatus::Completed);
    done.sha256 = Set(Some(sha256.to_owned()));
    done.bytes_done = Set(to_i64(bytes));
    done.started_at = Set(Some(now));
    done.finished_at = Set(Some(now));
    done.update(db).await
}

pub async fn get(db: &DatabaseConnection, id: i64) -> Result<Option<job::Model>, DbErr> {
    Jobs::find_by_id(id).one(db).await
}

/// The newest job of this kind for this name.
pub async fn latest_for(
    db: &DatabaseConnection,
    kind: JobKind,
    name: &str,
) -> Result<Option<job::Model>, DbErr> {
    Jobs::find()
        .filter(job::Column::Kind.eq(kind))
        .filter(job::Column::Name.eq(name))
        .order_by_desc(job::Column::Id)
        .one(db)
        .await
}

/// The newest job per name, for one kind (or all kinds), oldest name first.
pub async fn latest_per_name(
    db: &DatabaseConnection,
    kind: Option<JobKind>,
) -> Result<Vec<job::Model>, DbErr> {
    let mut query = Jobs::find();
    if let Some(kind) = kind {
        query = query.filter(job::Column::Kind.eq(kind));
    }
    let rows = query
        .order_by_desc(job::Column::Id)
        .limit(RECENT_JOBS)
        .all(db)
        .await?;
    let mut seen = HashMap::new();
    let mut latest: Vec<job::Model> = Vec::new();
    for row in rows {
        if seen.insert((row.kind, row.name.clone()), ()).is_none() {
            latest.push(row);
        }
    }
    latest.reverse();
    Ok(latest)
}

/// Records progress (absolute byte counts).
pub async fn progress(
    db: &DatabaseConnection,
    id: i64,
    bytes_done: u64,
    bytes_total: Option<u64>,
) -> Result<(), DbErr> {
    Jobs::update_many()
        .col_expr(job::Column::BytesDone, Expr::value(to_i64(bytes_done)))
        .col_expr(
            job::Column::BytesTotal,
            Expr::value(bytes_total.map(to_i64)),
        )
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// How a job ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Completed { sha256: String, bytes: u64 },
    Failed(String),
    Cancelled(Option<String>),
}

/// Writes the terminal state of a running (or queued) job; returns the row
/// as it is afterwards. A job that already ended keeps its first ending.
/// With other replicas, the ending is announced to them in the same
/// transaction (`node`'s name): the caller shows the row on this
/// replica's streams only (`Live::relay_job`).
pub async fn finish(
    db: &DatabaseConnection,
    node: &Node,
    id: i64,
    outcome: &Outcome,
) -> Result<Option<job::Model>, DbErr> {
    let ending = ending(id, outcome)
        .filter(job::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]));
    end_and_announce(db, node, id, ending).await?;
    get(db, id).await
}

/// Runs `ending` on the job `id`, announcing it to the other replicas in
/// the same transaction when it ended the job; whether it did.
async fn end_and_announce(
    db: &DatabaseConnection,
    node: &Node,
    id: i64,
    ending: sea_orm::UpdateMany<Jobs>,
) -> Result<bool, DbErr> {
    if !node.shared {
        return Ok(ending.exec(db).await?.rows_affected > 0);
    }
    let txn = db.begin().await?;
    let ended = ending.exec(&txn).await?.rows_affected > 0;
    if ended {
        fanout::notify_in(&txn, node.id(), Announced::Job(id)).await?;
    }
    txn.commit().await?;
    Ok(ended)
}

/// The update that writes `outcome` on the job `id`, its lease released.
fn ending(id: i64, outcome: &Outcome) -> sea_orm::UpdateMany<Jobs> {
    let update = Jobs::update_many()
        .col_expr(job::Column::FinishedAt, Expr::value(clock::now_epoch()))
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<f64>::None))
        .filter(job::Column::Id.eq(id));
    match outcome {
        Outcome::Completed { sha256, bytes } => update
            .col_expr(job::Column::Status, Expr::value(JobStatus::Completed))
            .col_expr(job::Column::Sha256, Expr::value(sha256.clone()))
            .col_expr(job::Column::BytesDone, Expr::value(to_i64(*bytes)))
            .col_expr(job::Column::BytesTotal, Expr::value(to_i64(*bytes))),
        Outcome::Failed(error) => update
            .col_expr(job::Column::Status, Expr::value(JobStatus::Failed))
            .col_expr(job::Column::Error, Expr::value(error.clone())),
        Outcome::Cancelled(reason) => update
            .col_expr(job::Column::Status, Expr::value(JobStatus::Cancelled))
            .col_expr(job::Column::Error, Expr::value(reason.clone())),
    }
}

/// Writes how the run of job `id` that `node` claimed ended; returns the
/// row afterwards, or `None` when the job is no longer this node's to end
/// (another replica took it over after the lease ran out, or it ended
/// meanwhile): then its run leaves no trace. Announced as by [`finish`].
pub async fn finish_claimed(
    db: &DatabaseConnection,
    node: &Node,
    id: i64,
    outcome: &Outcome,
) -> Result<Option<job::Model>, DbErr> {
    let ending = ending(id, outcome)
        .filter(job::Column::Status.eq(JobStatus::Running))
        .filter(job::Column::ClaimedBy.eq(node.id()));
    if !end_and_announce(db, node, id, ending).await? {
        return Ok(None);
    }
    get(db, id).await
}

/// The wire form of a job row.
pub fn to_wire(model: &job::Model) -> Job {
    let status = model.status;
    let bytes_done = u64::try_from(model.bytes_done).unwrap_or_default();
    let rate_bps = match (status, model.started_at) {
        (JobStatus::Running, Some(started)) => {
            let elapsed = clock::now_epoch() - started;
            (elapsed > 0.5).then(|| bytes_done as f64 / elapsed)
        }
        _ => None,
    };
    Job {
        id: model.id,
        kind: model.kind,
        name: model.name.clone(),
        status,
        bytes_done,
        bytes_total: model.bytes_total.and_then(|t| u64::try_from(t).ok()),
        sha256: model.sha256.clone(),
        error: model.error.clone(),
        started_at: model.started_at,
        finished_at: model.finished_at,
        rate_bps,
        attempt: u32::try_from(model.attempt).unwrap_or_default(),
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
