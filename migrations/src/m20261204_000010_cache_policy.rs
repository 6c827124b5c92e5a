//! The download cache's policy, on catalog entries: the operator's cache
//! pin (`keep_cached`: never evicted by the quota; not to be confused with
//! a sha pinned by a catalog, which fixes an entry's content), the last
//! time a flash client read the entry's bytes (least recently used goes
//! first), and what the upstream said about the bytes last downloaded
//! (`ETag`, `Last-Modified`, or for `oras://` the manifest digest), which
//! an Update sends back to ask whether anything changed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            boolean(CatalogEntries::KeepCached)
                .default(false)
                .to_owned(),
            text_null(CatalogEntries::LastUsedAt).to_owned(),
            text_null(CatalogEntries::UpstreamEtag).to_owned(),
            text_null(CatalogEntries::UpstreamLastModified).to_owned(),
            text_null(CatalogEntries::UpstreamDigest).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CatalogEntries::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            CatalogEntries::UpstreamDigest,
            CatalogEntries::UpstreamLastModified,
            CatalogEntries::UpstreamEtag,
            CatalogEntries::LastUsedAt,
            CatalogEntries::KeepCached,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CatalogEntries::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CatalogEntries {
    Table,
    KeepCached,
    LastUsedAt,
    UpstreamEtag,
    UpstreamLastModified,
    UpstreamDigest,
}
