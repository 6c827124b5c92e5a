//! Operator accounts: looking one up, adding one, changing a password.
//! The command line manages them; every change is an event.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use serde_json::json;

use super::{password, sessions::Operator};
use crate::{
    audit::{self, Actor, NewEvent},
    clock,
    db::entity::{operator, session},
    live::Live,
};

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest user name, in characters.
const MAX_USERNAME_CHARS: usize = 64;

/// Why an account could not be added or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(
        "user name must be 1 to {MAX_USERNAME_CHARS} characters without spaces or control \
         characters, got {0:?}"
    )]
    InvalidUsername(String),
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
    #[error("operator '{0}' exists already")]
    Exists(String),
    #[error("no operator named '{0}'")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Every operator's name, in order.
pub async fn usernames(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    operator::Entity::find()
        .order_by_asc(operator::Column::Username)
        .all(db)
        .await
        .map(|operators| operators.into_iter().map(|o| o.username).collect())
}

/// The operator named `username`.
pub async fn find(
    db: &DatabaseConnection,
    username: &str,
) -> Result<Option<operator::Model>, DbErr> {
    operator::Entity::find()
        .filter(operator::Column::Username.eq(username))
        .one(db)
        .await
}

/// The operator named `username`, as a request would see them.
pub async fn operator(db: &DatabaseConnection, username: &str) -> Result<Operator, AccountError> {
    find(db, username)
        .await?
        .map(|row| Operator {
            id: row.id,
            username: row.username,
            token: None,
        })
        .ok_or_else(|| AccountError::NotFound(username.to_owned()))
}

/// A password long enough to keep.
pub fn check_password(secret: &str) -> Result<(), AccountError> {
    if secret.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::ShortPassword);
    }
    Ok(())
}

fn check_username(username: &str) -> Result<(), AccountError> {
    let length = username.chars().count();
    if length == 0
        || length > MAX_USERNAME_CHARS
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AccountError::InvalidUsername(username.to_owned()));
    }
    Ok(())
}

/// Adds an operator who can log in with `secret`; `auth.operator.added`.
pub async fn add(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    username: &str,
    secret: String,
) -> Result<(), AccountError> {
    check_username(username)?;
    check_password(&secret)?;
    if find(db, username).await?.is_some() {
        return Err(AccountError::Exists(username.to_owned()));
    }
    operator::ActiveModel {
        username: Set(username.to_owned()),
        password_hash: Set(password::hash(secret).await?),
        created_at: Set(clock::now_iso()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let event = NewEvent {
        kind: "auth.operator.added",
        subject_kind: "auth",
        subject_id: username.to_owned(),
        summary: format!("operator '{username}' added"),
        details: Some(json!({"username": username})),
    };
    audit::record(db, live, actor, event).await;
    Ok(())
}

/// Sets a new password; the old one stops working, and so do the
/// operator's browser sessions (API tokens stay). Returns how many sessions
/// ended; `auth.operator.password_changed`.
pub async fn set_password(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    username: &str,
    secret: String,
) -> Result<u64, AccountError> {
    check_password(&secret)?;
    let row = find(db, username)
        .await?
        .ok_or_else(|| AccountError::NotFound(username.to_owned()))?;
    let id = row.id;
    let mut active: operator::ActiveModel = row.into();
    active.password_hash = Set(password::hash(secret).await?);
    active.update(db).await?;
    let ended = session::Entity::delete_many()
        .filter(session::Column::OperatorId.eq(id))
        .exec(db)
        .await?
        .rows_affected;
    let event = NewEvent {
        kind: "auth.operator.password_changed",
        subject_kind: "auth",
        subject_id: username.to_owned(),
        summary: format!("password of '{username}' changed"),
        details: Some(json!({"username": username, "sessions_ended": ended})),
    };
    audit::record(db, live, actor, event).await;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_eight_characters() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        let error = check_password("").unwrap_err().to_string();
        assert!(error.contains("at least 8"), "{error}");
    }

    #[test]
    fn user_names_are_one_word() {
        assert!(check_username("alice").is_ok());
        for bad in ["", "a b", "tab\t", &"x".repeat(65)] {
            assert!(check_username(bad).is_err(), "{bad:?}");
        }
    }
}
