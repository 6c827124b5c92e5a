//! The first schema: catalog entries, jobs, the audit log, operators, their
//! sessions and API tokens.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogEntries::Table)
                    .if_not_exists()
                    .col(text(CatalogEntries::BtyImageRef).primary_key())
                    .col(text_uniq(CatalogEntries::Src))
                    .col(text_null(CatalogEntries::DiskImageSha))
                    .col(text(CatalogEntries::Name))
                    .col(text_null(CatalogEntries::ShaUrl))
                    .col(text_null(CatalogEntries::Format))
                    .col(big_integer_null(CatalogEntries::SizeBytes))
                    .col(text_null(CatalogEntries::Description))
                    .col(text(CatalogEntries::AddedAt))
                    .col(text(CatalogEntries::SourceKind))
                    // Local files: the modification time seen last, and the
                    // size and time the recorded sha256 was computed for.
                    .col(big_integer_null(CatalogEntries::FileMtimeNs))
                    .col(big_integer_null(CatalogEntries::HashedSize))
                    .col(big_integer_null(CatalogEntries::HashedMtimeNs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_catalog_entries_sha")
                    .table(CatalogEntries::Table)
                    .col(CatalogEntries::DiskImageSha)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Jobs::Id))
                    .col(text(Jobs::Kind))
                    .col(text(Jobs::Name))
                    .col(text_null(Jobs::Path))
                    .col(text_null(Jobs::Src))
                    .col(text(Jobs::Status))
                    .col(big_integer(Jobs::BytesDone))
                    .col(big_integer_null(Jobs::BytesTotal))
                    .col(text_null(Jobs::Sha256))
                    .col(text_null(Jobs::Error))
                    .col(double(Jobs::CreatedAt))
                    .col(double_null(Jobs::StartedAt))
                    .col(double_null(Jobs::FinishedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_kind_name")
                    .table(Jobs::Table)
                    .col(Jobs::Kind)
                    .col(Jobs::Name)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_status")
                    .table(Jobs::Table)
                    .col(Jobs::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Events::Id))
                    .col(text(Events::Ts))
                    .col(text(Events::Kind))
                    .col(text_null(Events::SubjectKind))
                    .col(text_null(Events::SubjectId))
                    .col(text_null(Events::Actor))
                    .col(text_null(Events::SourceIp))
                    .col(text(Events::Summary))
                    .col(text_null(Events::Details))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_events_ts", vec![Events::Ts]),
            ("idx_events_kind", vec![Events::Kind]),
            (
                "idx_events_subject",
                vec![Events::SubjectKind, Events::SubjectId],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Events::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Operators::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Operators::Id))
                    .col(text_uniq(Operators::Username))
                    .col(text(Operators::PasswordHash))
                    .col(text(Operators::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(text(Sessions::TokenHash).primary_key())
                    .col(big_integer(Sessions::OperatorId))
                    .col(double(Sessions::CreatedAt))
                    .col(double(Sessions::LastSeenAt))
                    .col(double(Sessions::ExpiresAt))
                    .col(text_null(Sessions::SourceIp))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_operator")
                            .from(Sessions::Table, Sessions::OperatorId)
                            .to(Operators::Table, Operators::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ApiTokens::Id))
                    .col(big_integer(ApiTokens::OperatorId))
                    .col(text(ApiTokens::Name))
                    .col(text_uniq(ApiTokens::TokenHash))
                    .col(text(ApiTokens::CreatedAt))
                    .col(text_null(ApiTokens::LastUsedAt))
                    .col(text_null(ApiTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_tokens_operator")
                            .from(ApiTokens::Table, ApiTokens::OperatorId)
                            .to(Operators::Table, Operators::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Operators::Table.into_iden(),
            Events::Table.into_iden(),
            Jobs::Table.into_iden(),
            CatalogEntries::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CatalogEntries {
    Table,
    BtyImageRef,
    Src,
    DiskImageSha,
    Name,
    ShaUrl,
    Format,
    SizeBytes,
    Description,
    AddedAt,
    SourceKind,
    FileMtimeNs,
    HashedSize,
    HashedMtimeNs,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    Name,
    Path,
    Src,
    Status,
    BytesDone,
    BytesTotal,
    Sha256,
    Error,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Ts,
    Kind,
    SubjectKind,
    SubjectId,
    Actor,
    SourceIp,
    Summary,
    Details,
}

#[derive(DeriveIden)]
enum Operators {
    Table,
    Id,
    Username,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
    OperatorId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    SourceIp,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    OperatorId,
    Name,
    TokenHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}
