//! An operator's active API tokens have distinct names: a partial unique
//! index, so two creations racing with one name cannot both succeed.
//! Revoked tokens keep their names and do not count.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ux_api_tokens_active_name";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(ApiTokens::Table)
                    .col(ApiTokens::OperatorId)
                    .col(ApiTokens::Name)
                    .unique()
                    .if_not_exists()
                    .and_where(Expr::col(ApiTokens::RevokedAt).is_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(ApiTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    OperatorId,
    Name,
    RevokedAt,
}
