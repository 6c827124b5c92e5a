//! `storage_uploads`: multipart uploads under way into the object store,
//! so the ones a dead replica left are aborted (see `storage::s3`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "storage_uploads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The object's full key in the bucket.
    pub object_key: String,
    /// The store's id of the multipart upload.
    pub upload_id: String,
    /// The replica writing it (`BTY_NODE_ID`).
    pub node: String,
    /// Seconds since the epoch.
    pub started_at: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
