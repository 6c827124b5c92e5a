//! Browser sessions (API tokens are in [`super::tokens`]). The cookie holds a random token; the
//! database keeps only its SHA-256, so a leaked database opens nothing, and
//! deleting the row revokes the cookie at once.

use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, Set,
};

use super::password::random_hex;
use crate::{
    audit::Actor,
    clock,
    db::entity::{operator, session},
    digest::sha256_hex,
};

/// The session cookie's name, as the reference.
pub const COOKIE: &str = "bty-token";
/// Sessions last 7 days from the last use (sliding), as the reference.
pub const MAX_AGE_SECONDS: u64 = 604_800;
/// The expiry is pushed forward at most this often.
const TOUCH_EVERY_SECONDS: f64 = 60.0;

/// A logged-in operator.
#[derive(Clone, Debug)]
pub struct Operator {
    pub id: i64,
    pub username: String,
    /// The name of the API token the request came with; `None` for a
    /// browser session. Events the request causes carry it (see
    /// [`Actor::operator`]).
    pub token: Option<String>,
}

// Beside `Operator`, so the audit log needs to know nothing of logins.
impl Actor {
    /// A logged-in operator at an address: the event names them, and the
    /// API token the request came with, if any.
    pub fn operator(operator: &Operator, source_ip: Option<String>) -> Self {
        Actor {
            actor: Some(operator.username.clone()),
            source_ip,
            token: operator.token.clone(),
        }
    }
}

/// Starts a session; returns the token for the cookie.
pub async fn create(
    db: &DatabaseConnection,
    operator_id: i64,
    source_ip: Option<String>,
) -> anyhow::Result<String> {
    let token = random_hex(32)?;
    let now = clock::now_epoch();
    session::ActiveModel {
        token_hash: Set(sha256_hex(token.as_bytes())),
        operator_id: Set(operator_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + MAX_AGE_SECONDS as f64),
        source_ip: Set(source_ip),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The operator a session token belongs to, sliding its expiry forward.
pub async fn resolve(db: &DatabaseConnection, token: &str) -> Result<Option<Operator>, DbErr> {
    let hash = sha256_hex(token.as_bytes());
    let Some(row) = session::Entity::find_by_id(hash.clone()).one(db).await? else {
        return Ok(None);
    };
    let now = clock::now_epoch();
    if row.expires_at < now {
        session::Entity::delete_by_id(hash).exec(db).await?;
        return Ok(None);
    }
    if now - row.last_seen_at > TOUCH_EVERY_SECONDS {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .col_expr(
                session::Column::ExpiresAt,
                Expr::value(now + MAX_AGE_SECONDS as f64),
            )
            .filter(session::Column::TokenHash.eq(hash))
            .exec(db)
            .await?;
    }
    operator_by_id(db, row.operator_id).await
}

/// Ends a session: its cookie stops working everywhere.
pub async fn revoke(db: &DatabaseConnection, token: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(sha256_hex(token.as_bytes()))
        .exec(db)
        .await?;
    Ok(())
}

/// The operator with this id, as a session sees them.
pub(crate) async fn operator_by_id(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<Operator>, DbErr> {
    Ok(operator::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|row| Operator {
            id: row.id,
            username: row.username,
            token: None,
        }))
}

/// The `Set-Cookie` value that starts or refreshes a session.
pub fn cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={token}; Path=/; Max-Age={MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict{secure}"
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clearing_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_are_http_only_strict_and_slide_for_seven_days() {
        let value = cookie("abc", false);
        assert_eq!(
            value,
            "bty-token=abc; Path=/; Max-Age=604800; HttpOnly; SameSite=Strict"
        );
        assert!(cookie("abc", true).ends_with("; Secure"));
        assert!(clearing_cookie(false).contains("Max-Age=0"));
    }
}
