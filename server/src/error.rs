//! The one error type at the HTTP edge: every handler returns it, and its
//! `IntoResponse` maps it to a status and a `{"detail": …}` body in one
//! place. Details of 5xx errors are logged, never sent. [`AppJson`] is the
//! JSON body extractor whose rejection is such an error, so no handler maps
//! a malformed body by hand.

use axum::{
    extract::{rejection::JsonRejection, FromRequest, Request},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Every error's body: `{"detail": …}`, as FastAPI writes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    #[schema(value_type = ErrorDetail)]
    pub detail: Value,
}

/// What `detail` holds: a message, or (422) one item per invalid field.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only its schema is used; `ErrorBody` carries a `Value`.
pub enum ErrorDetail {
    Message(String),
    Invalid(Vec<InvalidField>),
}

/// One invalid field of a 422, shaped like pydantic's errors.
#[derive(Serialize, ToSchema)]
pub struct InvalidField {
    /// e.g. `value_error`, `missing`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where: `["body", "name"]`, `["query", "src"]`.
    pub loc: Vec<String>,
    pub msg: String,
    /// The value given, or null.
    pub input: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No session and no token: `401 {"detail":"login required"}`.
    #[error("login required")]
    LoginRequired,
    #[error("{0}")]
    BadRequest(String),
    /// The request is understood and refused (a cross-site form post).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 422 with a FastAPI-shaped detail: a plain string, or a list of
    /// `{type, loc, msg, input}` items.
    #[error("validation failed: {0}")]
    Unprocessable(Value),
    /// The body is larger than the server takes.
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// An upstream this request depends on failed.
    #[error("{0}")]
    BadGateway(String),
    /// The disk that should hold the bytes is full: the operator's to fix,
    /// so, unlike other 5xx errors, its message is sent.
    #[error("{0}")]
    InsufficientStorage(String),
    /// A failure on the server's side, answered with a plain 500; the
    /// cause is logged.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    /// A failure on the server's side that the client is told about in a
    /// sentence of its own (what did not happen); the cause is logged.
    #[error("{message}: {cause:#}")]
    Failed {
        message: &'static str,
        cause: anyhow::Error,
    },
}

impl ApiError {
    /// A 422 for one bad field, shaped like pydantic's errors.
    pub fn invalid_field(location: &[&str], message: &str, input: impl Into<Value>) -> Self {
        let item = InvalidField {
            kind: "value_error".to_owned(),
            loc: location.iter().map(|part| part.to_string()).collect(),
            msg: message.to_owned(),
            input: input.into(),
        };
        ApiError::Unprocessable(Value::Array(vec![
            serde_json::to_value(item).unwrap_or(Value::Null)
        ]))
    }

    /// A 422 with a plain-string detail.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        ApiError::Unprocessable(Value::String(message.into()))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::LoginRequired => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) | ApiError::Failed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A body that is not the JSON a route takes is a 422 that says why.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::invalid_field(&["body"], &rejection.body_text(), Value::Null)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        ApiError::Internal(error.into())
    }
}

impl From<std::io::Error> for ApiError {
    fn from(error: std::io::Error) -> Self {
        ApiError::Internal(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                Value::String("internal server error".into())
            }
            ApiError::Failed { message, cause } => {
                tracing::error!(error = format!("{cause:#}"), "{message}");
                Value::String((*message).into())
            }
            ApiError::Unprocessable(detail) => detail.clone(),
            other => Value::String(other.to_string()),
        };
        let mut response = (status, Json(ErrorBody { detail })).into_response();
        if let ApiError::TooManyRequests(_, retry_after) = self {
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// `axum::Json`, but a body that does not parse is an [`ApiError`] (422,
/// FastAPI-shaped) instead of axum's plain-text rejection (axum's
/// `examples/error-handling`).
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(AppJson(value))
    }
}
