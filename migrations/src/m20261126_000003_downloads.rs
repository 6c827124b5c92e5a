//! Downloads: a job's attempt, the upstream validator a resumed transfer
//! sends in `If-Range`, and whether it fetches or updates; on catalog
//! entries, whether the sha was observed (a download, a resolved rolling
//! tag) rather than given by a catalog or an operator.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            integer(Jobs::Attempt).default(0).to_owned(),
            text_null(Jobs::Validator).to_owned(),
            text(Jobs::Mode).default("fetch").to_owned(),
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
            .alter_table(
                Table::alter()
                    .table(CatalogEntries::Table)
                    .add_column(boolean(CatalogEntries::ShaObserved).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_kind_src")
                    .table(Jobs::Table)
                    .col(Jobs::Kind)
                    .col(Jobs::Src)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_jobs_kind_src")
                    .table(Jobs::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CatalogEntries::Table)
                    .drop_column(CatalogEntries::ShaObserved)
                    .to_owned(),
            )
            .await?;
        for column in [Jobs::Mode, Jobs::Validator, Jobs::Attempt] {
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

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Kind,
    Src,
    Attempt,
    Validator,
    Mode,
}

#[derive(DeriveIden)]
enum CatalogEntries {
    Table,
    ShaObserved,
}
