//! `sessions`: logged-in browser sessions. Only the SHA-256 of the cookie
//! token is stored; deleting the row revokes the cookie.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub operator_id: i64,
    pub created_at: f64,
    pub last_seen_at: f64,
    pub expires_at: f64,
    pub source_ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
