//! The form targets of `/ui/tokens`: creating a token renders the page
//! again with the secret (never in a URL, a redirect or a log; the answer
//! is not cached), revoking one answers 303 back to the page.

use app::{
    components::format::encode_query_value,
    model::TokenNotice,
    ssr::{CurrentOperator, TokenFormOutcome},
};
use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{render_page, UiError};
use crate::{
    audit::Actor,
    auth::{
        tokens::{self, TokenError},
        ClientIp, Operator,
    },
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(revoke))
}

/// The create form's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
}

/// `POST /ui/tokens`: the page with the new secret shown once, or with what
/// was wrong with the name (422, or 409 when the name is taken).
#[utoipa::path(
    post,
    path = "/ui/tokens",
    tag = "pages",
    request_body(content = CreateForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The tokens page showing the new secret once",
            content_type = "text/html", body = String),
        (status = 409, description = "The page again: an active token has this name",
            content_type = "text/html", body = String),
        (status = 422, description = "The page again: the name is not 1-64 printable characters",
            content_type = "text/html", body = String),
        (status = 303, description = "To `/ui/login` without a session"),
    ),
    security(("cookie" = []))
)]
async fn create(
    State(state): State<AppState>,
    ClientIp(source_ip): ClientIp,
    operator: Operator,
    Form(form): Form<CreateForm>,
) -> Result<Response, UiError> {
    let actor = Actor::operator(&operator, source_ip);
    let created = tokens::create(&state.db, &state.live, &actor, &operator, &form.name).await;
    let (notice, status) = match created {
        Ok(created) => (
            TokenNotice {
                created: Some(created),
                ..Default::default()
            },
            StatusCode::OK,
        ),
        Err(error @ (TokenError::InvalidName(_) | TokenError::Duplicate(_))) => {
            let status = match error {
                TokenError::Duplicate(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let notice = TokenNotice {
                created: None,
                error: Some(capitalised(&error.to_string())),
                name: form.name,
            };
            (notice, status)
        }
        Err(error) => return Err(UiError::Internal(error.into())),
    };
    render_tokens(&state, &operator, notice, status).await
}

/// `POST /ui/tokens/{id}/revoke`: 303 back to the page; an unknown id (or
/// another operator's token) comes back with an error.
#[utoipa::path(
    post,
    path = "/ui/tokens/{id}/revoke",
    tag = "pages",
    params(("id" = i64, Path, description = "The token's id")),
    responses(
        (status = 303, description = "Back to `/ui/tokens` (with `?error=` for an unknown token), or to `/ui/login` without a session",
            headers(("location" = String))),
    ),
    security(("cookie" = []))
)]
async fn revoke(
    State(state): State<AppState>,
    ClientIp(source_ip): ClientIp,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let actor = Actor::operator(&operator, source_ip);
    let revoked = match id.parse::<i64>() {
        Ok(id) => tokens::revoke(&state.db, &state.live, &actor, id, Some(operator.id)).await,
        Err(_) => Err(TokenError::NotFound(0)),
    };
    match revoked {
        Ok(_) => Ok(Redirect::to("/ui/tokens").into_response()),
        Err(TokenError::NotFound(_)) => {
            let error = encode_query_value("That token does not exist.");
            Ok(Redirect::to(&format!("/ui/tokens?error={error}")).into_response())
        }
        Err(error) => Err(UiError::Internal(error.into())),
    }
}

/// Renders `/ui/tokens` for `operator` with the form's outcome; never
/// cached, since it may show a secret.
async fn render_tokens(
    state: &AppState,
    operator: &Operator,
    notice: TokenNotice,
    status: StatusCode,
) -> Result<Response, UiError> {
    let request = Request::get("/ui/tokens")
        .extension(CurrentOperator(operator.username.clone()))
        .extension(TokenFormOutcome(notice));
    let mut response = render_page(state, request, status).await?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The error as a sentence for the page.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
