//! `image_inspections`: what the bytes with a content SHA-256 are, as the
//! inspection job found them. Keyed by that sha, so every row naming the
//! bytes shares the finding.

use app::model::InspectionState;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "image_inspections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sha256: String,
    /// The format the bytes are, by the catalog's name for it (`img.gz`).
    pub format: String,
    pub uncompressed_size: Option<i64>,
    pub uncompressed_sha256: Option<String>,
    /// Never `pending`: a sha not inspected has no row.
    pub state: InspectionState,
    /// Why the image is unsafe or corrupt.
    pub reason: Option<String>,
    /// `mbr` or `gpt`.
    pub partition_table: Option<String>,
    pub inspected_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
