//! Jobs claimed as leases, for several replicas on one database: the
//! replica running a job (`claimed_by`) and until when its claim holds
//! without a heartbeat (`lease_until`, seconds since the epoch by the
//! database's clock); another replica takes a job whose lease ran out. A
//! cancel asked on a replica the job does not run on is written on the row
//! (`cancel_requested_by`, the actor as JSON) for the one it runs on. An
//! entry has at most one active download (a partial unique index), so two
//! replicas asked at once cannot both fetch it into the same partial file.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const ONE_ACTIVE_DOWNLOAD: &str = "ux_jobs_active_download";
const CLAIMS: &str = "idx_jobs_claimed_by";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            text_null(Jobs::ClaimedBy).to_owned(),
            double_null(Jobs::LeaseUntil).to_owned(),
            text_null(Jobs::CancelRequestedBy).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Jobs::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(CLAIMS)
                    .table(Jobs::Table)
                    .col(Jobs::ClaimedBy)
                    .to_owned(),
            )
            .await?;
        cancel_second_active_downloads(manager).await?;
        manager
            .create_index(
                Index::create()
                    .name(ONE_ACTIVE_DOWNLOAD)
                    .table(Jobs::Table)
                    .col(Jobs::Src)
                    .unique()
                    .and_where(Expr::col(Jobs::Kind).eq("download"))
                    .and_where(Expr::col(Jobs::Status).is_in(["queued", "running"]))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in [ONE_ACTIVE_DOWNLOAD, CLAIMS] {
            manager
                .drop_index(Index::drop().name(index).table(Jobs::Table).to_owned())
                .await?;
        }
        for column in [Jobs::CancelRequestedBy, Jobs::LeaseUntil, Jobs::ClaimedBy] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Jobs::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// A database from before this migration may hold two active downloads of
/// one entry (a race the index below rules out from now on), and the index
/// could not be made over them: all but the newest of each entry are
/// cancelled first, so an upgrade always starts.
async fn cancel_second_active_downloads(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let active = || {
        Condition::all()
            .add(Expr::col(Jobs::Kind).eq("download"))
            .add(Expr::col(Jobs::Status).is_in(["queued", "running"]))
            // NULLs never collide in a unique index.
            .add(Expr::col(Jobs::Src).is_not_null())
    };
    let newest = Query::select()
        .expr(Expr::col(Jobs::Id).max())
        .from(Jobs::Table)
        .cond_where(active())
        .group_by_col(Jobs::Src)
        .to_owned();
    manager
        .exec_stmt(
            Query::update()
                .table(Jobs::Table)
                .value(Jobs::Status, "cancelled")
                .value(
                    Jobs::Error,
                    "a second download of the entry, cancelled by an upgrade",
                )
                .value(Jobs::FinishedAt, Expr::col(Jobs::CreatedAt))
                .cond_where(active())
                .and_where(Expr::col(Jobs::Id).not_in_subquery(newest))
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    Src,
    Status,
    Error,
    CreatedAt,
    FinishedAt,
    ClaimedBy,
    LeaseUntil,
    CancelRequestedBy,
}
