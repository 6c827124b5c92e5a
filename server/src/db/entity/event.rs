//! `events`: the append-only audit log.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ts: String,
    pub kind: String,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub actor: Option<String>,
    pub source_ip: Option<String>,
    pub summary: String,
    /// A JSON object, as text.
    pub details: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
