//! API tokens: `bty_` and 32 random bytes in hex, given to their creator
//! once; the database keeps only the SHA-256, as sessions do. A revoked
//! token stops working at once (every request looks the row up), and use is
//! recorded in `last_used_at` at most once a minute per token.
//!
//! The JSON API, the `/ui/tokens` page and the command line all go through
//! here, and record the same events.

use app::model::{ApiToken, CreatedApiToken, TOKEN_NAME_MAX_CHARS};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set, SqlErr,
};
use serde_json::json;

use super::{
    password::random_hex,
    sessions::{operator_by_id, Operator},
};
use crate::{
    audit::{self, Actor, NewEvent},
    clock,
    db::entity::api_token,
    digest::sha256_hex,
    error::ApiError,
    live::Live,
};

/// What every token starts with, so a leaked one is recognisable (secret
/// scanners, logs).
pub const PREFIX: &str = "bty_";
/// Random bytes in a token.
const SECRET_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Why a token could not be created or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token name must be 1 to {TOKEN_NAME_MAX_CHARS} printable characters, got {0:?}")]
    InvalidName(String),
    #[error("an active token named '{0}' exists already; revoke it or pick another name")]
    Duplicate(String),
    #[error("no token with id {0}")]
    NotFound(i64),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::InvalidName(name) => ApiError::invalid_field(
                &["body", "name"],
                &format!("name must be 1 to {TOKEN_NAME_MAX_CHARS} printable characters"),
                name,
            ),
            TokenError::Duplicate(_) => ApiError::Conflict(error.to_string()),
            TokenError::NotFound(_) => ApiError::NotFound("token not found".into()),
            TokenError::Db(error) => error.into(),
            TokenError::Internal(error) => ApiError::Internal(error),
        }
    }
}

/// The name, trimmed, if it is 1–64 printable characters.
pub fn check_name(name: &str) -> Result<String, TokenError> {
    let trimmed = name.trim();
    let length = trimmed.chars().count();
    if length == 0 || length > TOKEN_NAME_MAX_CHARS || trimmed.chars().any(char::is_control) {
        return Err(TokenError::InvalidName(name.to_owned()));
    }
    Ok(trimmed.to_owned())
}

/// Creates a token for `owner` and records `auth.token.created`; the
/// answer holds the secret, which is not kept anywhere.
pub async fn create(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    owner: &Operator,
    name: &str,
) -> Result<CreatedApiToken, TokenError> {
    let name = check_name(name)?;
    let taken = api_token::Entity::find()
        .filter(api_token::Column::OperatorId.eq(owner.id))
        .filter(api_token::Column::Name.eq(name.as_str()))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(TokenError::Duplicate(name));
    }
    let secret = format!("{PREFIX}{}", random_hex(SECRET_BYTES)?);
    let row = api_token::ActiveModel {
        operator_id: Set(owner.id),
        name: Set(name.clone()),
        token_hash: Set(sha256_hex(secret.as_bytes())),
        created_at: Set(clock::now_iso()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|error| match error.sql_err() {
        // Another creation with this name won the race (the partial
        // unique index on active names).
        Some(SqlErr::UniqueConstraintViolation(_)) => TokenError::Duplicate(name.clone()),
        _ => error.into(),
    })?;
    let event = NewEvent {
        kind: "auth.token.created",
        subject_kind: "auth",
        subject_id: owner.username.clone(),
        summary: format!("API token '{name}' created for '{}'", owner.username),
        details: Some(json!({"token_id": row.id, "token_name": name, "operator": owner.username})),
    };
    audit::record(db, live, actor, event).await;
    Ok(CreatedApiToken {
        token: secret,
        record: to_wire(row),
    })
}

/// Tokens, oldest first: one operator's, or everyone's with their owner id.
pub async fn list(
    db: &DatabaseConnection,
    operator_id: Option<i64>,
) -> Result<Vec<(i64, ApiToken)>, DbErr> {
    let mut query = api_token::Entity::find().order_by_asc(api_token::Column::Id);
    if let Some(id) = operator_id {
        query = query.filter(api_token::Column::OperatorId.eq(id));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.operator_id, to_wire(row)))
        .collect())
}

/// Revokes token `id` (only if it belongs to `owner_id`, when given) and
/// records `auth.token.revoked`. Revoking a revoked token changes nothing.
pub async fn revoke(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    id: i64,
    owner_id: Option<i64>,
) -> Result<ApiToken, TokenError> {
    let row = api_token::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|row| owner_id.is_none_or(|owner| row.operator_id == owner))
        .ok_or(TokenError::NotFound(id))?;
    if row.revoked_at.is_some() {
        return Ok(to_wire(row));
    }
    let owner = operator_by_id(db, row.operator_id)
        .await?
        .map(|op| op.username)
        .unwrap_or_default();
    let mut active: api_token::ActiveModel = row.into();
    active.revoked_at = Set(Some(clock::now_iso()));
    let row = active.update(db).await?;
    let event = NewEvent {
        kind: "auth.token.revoked",
        subject_kind: "auth",
        subject_id: owner.clone(),
        summary: format!("API token '{}' of '{owner}' revoked", row.name),
        details: Some(json!({"token_id": row.id, "token_name": row.name, "operator": owner})),
    };
    audit::record(db, live, actor, event).await;
    Ok(to_wire(row))
}

/// The operator an API bearer token belongs to, unless it was revoked,
/// with the token's name; notes the use.
pub async fn resolve(db: &DatabaseConnection, secret: &str) -> Result<Option<Operator>, DbErr> {
    let Some(row) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(sha256_hex(secret.as_bytes())))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if is_stale(row.last_used_at.as_deref()) {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(clock::now_iso()))
            .filter(api_token::Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    Ok(operator_by_id(db, row.operator_id)
        .await?
        .map(|operator| Operator {
            token: Some(row.name),
            ..operator
        }))
}

/// True when `last_used_at` is unset, unreadable or a minute old.
fn is_stale(last_used_at: Option<&str>) -> bool {
    last_used_at
        .and_then(|ts| chrono::DateTime::parse_from_rfc3339(ts).ok())
        .is_none_or(|last| {
            chrono::Utc::now().signed_duration_since(last).num_seconds() >= TOUCH_EVERY_SECONDS
        })
}

fn to_wire(row: api_token::Model) -> ApiToken {
    ApiToken {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_be_short_and_printable() {
        assert_eq!(check_name("  ci runner ").unwrap(), "ci runner");
        assert_eq!(check_name(&"é".repeat(64)).unwrap().chars().count(), 64);
        for bad in ["", "   ", "a\nb", "tab\there", &"x".repeat(65)] {
            assert!(
                matches!(check_name(bad), Err(TokenError::InvalidName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn use_is_noted_once_a_minute() {
        assert!(is_stale(None));
        assert!(is_stale(Some("garbage")));
        assert!(!is_stale(Some(&clock::now_iso())));
        assert!(is_stale(Some("2026-01-01T00:00:00.000000+00:00")));
    }
}
