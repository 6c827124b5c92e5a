//! Multipart uploads under way into the object store (`BTY_STORAGE_URL=s3://…`):
//! the object's key, chosen before the upload starts, the store's id for
//! the upload, the replica writing it and when it began. A row outlives its
//! upload only when its replica died mid-way: the start-up sweep then
//! aborts the upload, so no orphaned parts stay in the bucket.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const BY_NODE: &str = "idx_storage_uploads_node";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StorageUploads::Table)
                    .if_not_exists()
                    .col(big_pk_auto(StorageUploads::Id))
                    .col(text(StorageUploads::ObjectKey))
                    .col(text(StorageUploads::UploadId))
                    .col(text(StorageUploads::Node))
                    // Seconds since the epoch.
                    .col(double(StorageUploads::StartedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_NODE)
                    .table(StorageUploads::Table)
                    .col(StorageUploads::Node)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StorageUploads::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StorageUploads {
    Table,
    Id,
    ObjectKey,
    UploadId,
    Node,
    StartedAt,
}
