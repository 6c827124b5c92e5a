//! API tokens as the API and the `/ui/tokens` page show them.

use serde::{Deserialize, Serialize};

/// Longest API token name, in characters.
pub const TOKEN_NAME_MAX_CHARS: usize = 64;

/// An API token as listed (`GET /auth/tokens`, `/ui/tokens`): never the
/// secret, which only its creator sees, once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl ApiToken {
    /// False once revoked: the token opens nothing any more.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// `GET /auth/tokens` body: the caller's tokens, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiTokenList {
    pub tokens: Vec<ApiToken>,
}

/// `POST /auth/tokens` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewApiToken {
    /// 1 to [`TOKEN_NAME_MAX_CHARS`] printable characters.
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 64))]
    pub name: String,
}

/// `POST /auth/tokens` answer (201): the token's record and its secret, the
/// only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedApiToken {
    /// The secret, for `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(flatten)]
    pub record: ApiToken,
}

/// What `/ui/tokens` shows after its create form was posted: the new
/// secret, or what was wrong with the name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenNotice {
    pub created: Option<CreatedApiToken>,
    pub error: Option<String>,
    /// The name as typed, to fill the form again after an error.
    pub name: String,
}

/// Everything `/ui/tokens` is rendered from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensPage {
    pub operator: String,
    /// The operator's tokens, oldest first, revoked ones included.
    pub tokens: Vec<ApiToken>,
    pub notice: TokenNotice,
}
