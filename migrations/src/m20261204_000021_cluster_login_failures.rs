//! Failed logins by client address, for the login throttle: in the
//! database rather than one process's memory, so a guesser spreading
//! attempts over several replicas is slowed as if there were one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .if_not_exists()
                    .col(text(LoginFailures::Address).primary_key())
                    .col(integer(LoginFailures::Failures))
                    // Seconds since the epoch.
                    .col(double(LoginFailures::LastFailedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Address,
    Failures,
    LastFailedAt,
}
