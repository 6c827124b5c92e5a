//! Image inspections: what the bytes with a given SHA-256 are (format by
//! magic number, uncompressed size and SHA-256, and whether they are safe
//! to offer). Keyed by the content SHA-256, not by catalog row: the same
//! bytes are the same image whichever rows name them (a local file, a
//! cached download, an imported entry), and a row whose bytes change gets
//! a new sha, so no stale finding can outlive them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImageInspections::Table)
                    .if_not_exists()
                    .col(text(ImageInspections::Sha256).primary_key())
                    // The format the bytes are: `img`, `img.gz`, … `qcow2`.
                    .col(text(ImageInspections::Format))
                    .col(big_integer_null(ImageInspections::UncompressedSize))
                    .col(text_null(ImageInspections::UncompressedSha256))
                    // `ok`, `unsafe` or `corrupt` (`pending` is no row).
                    .col(text(ImageInspections::State))
                    .col(text_null(ImageInspections::Reason))
                    // `mbr` or `gpt`, for a raw disk (or one decompressed).
                    .col(text_null(ImageInspections::PartitionTable))
                    .col(text(ImageInspections::InspectedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImageInspections::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ImageInspections {
    Table,
    Sha256,
    Format,
    UncompressedSize,
    UncompressedSha256,
    State,
    Reason,
    PartitionTable,
    InspectedAt,
}
