//! The caller's API tokens: `GET /auth/tokens`, `POST /auth/tokens` (the
//! secret is in the 201 answer, and nowhere else), `DELETE
//! /auth/tokens/{id}`. A session or a bearer token may call them.

use app::model::{ApiToken, ApiTokenList, CreatedApiToken, NewApiToken};
use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    routing::{delete, get},
    Json, Router,
};

use super::hashes::json_rejection;
use crate::{
    audit::Actor,
    auth::{tokens, ClientIp, Operator},
    error::ApiError,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/tokens", get(list_tokens).post(create_token))
        .route("/auth/tokens/{id}", delete(revoke_token))
}

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

async fn create_token(
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    State(state): State<AppState>,
    body: Result<Json<NewApiToken>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedApiToken>), ApiError> {
    let Json(request) = body.map_err(json_rejection)?;
    let actor = Actor::operator(&operator, source_ip);
    let created = tokens::create(&state.db, &state.live, &actor, &operator, &request.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Another operator's token, or an id that is not a number, is a 404.
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
