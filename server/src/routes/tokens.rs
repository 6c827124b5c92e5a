//! The caller's API tokens: `GET /auth/tokens`, `POST /auth/tokens` (the
//! secret is in the 201 answer, and nowhere else), `DELETE
//! /auth/tokens/{id}`. A session or a bearer token may call them.

use app::model::{ApiToken, ApiTokenList, CreatedApiToken, NewApiToken};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit::Actor,
    auth::{tokens, ClientIp, Operator},
    error::{ApiError, AppJson, ErrorBody},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// The caller's API tokens, revoked ones included; never their secrets.
#[utoipa::path(
    get,
    path = "/auth/tokens",
    tag = "auth",
    responses(
        (status = 200, description = "The caller's tokens", body = ApiTokenList),
        (status = 401, description = "Login required", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn list_tokens(
    operator: Operator,
    State(state): State<AppState>,
) -> Result<Json<ApiTokenList>, ApiError> {
    let tokens = tokens::list(&state.db, Some(operator.id))
        .await?
        .into_iter()
        .map(|(_, token)| token)
        .collect();
    Ok(Json(ApiTokenList { tokens }))
}

/// Creates a token; the answer is the only place its secret is shown.
#[utoipa::path(
    post,
    path = "/auth/tokens",
    tag = "auth",
    request_body = NewApiToken,
    responses(
        (status = 201, description = "Created; `token` is the secret, shown this once", body = CreatedApiToken),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 409, description = "An active token already has this name", body = ErrorBody),
        (status = 422, description = "The name is not 1-64 printable characters", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn create_token(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    AppJson(request): AppJson<NewApiToken>,
) -> Result<(StatusCode, Json<CreatedApiToken>), ApiError> {
    let actor = Actor::operator(&operator, source_ip);
    let created = tokens::create(&state.db, &state.live, &actor, &operator, &request.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes one of the caller's tokens: it stops working at once. Another
/// operator's token, or an id that is not a number, is a 404.
#[utoipa::path(
    delete,
    path = "/auth/tokens/{id}",
    tag = "auth",
    params(("id" = i64, Path, description = "The token's id")),
    responses(
        (status = 200, description = "Revoked (or already revoked)", body = ApiToken),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 404, description = "No such token of the caller's", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn revoke_token(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ApiToken>, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::NotFound("token not found".into()))?;
    let actor = Actor::operator(&operator, source_ip);
    let revoked = tokens::revoke(&state.db, &state.live, &actor, id, Some(operator.id)).await?;
    Ok(Json(revoked))
}
