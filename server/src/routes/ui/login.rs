//! Logging in and out: the login form's target, which opens a session or
//! renders the page again saying what was wrong, and the logout form's,
//! which revokes the session on the server.

use app::{model::LoginNotice, ssr::LoginAttempt};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{render_page, UiError};
use crate::{
    audit::{self, Actor, NewEvent},
    auth::{accounts, bootstrap::ADMIN, password, sessions, ClientIp, Operator, SessionToken},
    state::AppState,
};

/// The login page and its form's target: open without a session.
pub const LOGIN: &str = "/ui/login";
/// The logout form's target: open, so a stale cookie can still log out.
pub const LOGOUT: &str = "/ui/logout";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
}

#[derive(Debug, Deserialize, ToSchema)]
struct LoginForm {
    /// `admin` when absent or empty.
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// `POST /ui/login`: a session and a 303 to the Images page, or the form
/// again with what went wrong.
#[utoipa::path(
    post,
    path = "/ui/login",
    tag = "pages",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Logged in: sets the `bty-token` cookie, to `/ui/images`",
            headers(("location" = String), ("set-cookie" = String))),
        (status = 200, description = "The login page again, saying what was wrong",
            content_type = "text/html", body = String),
        (status = 429, description = "Too many failed logins from this address",
            content_type = "text/html", body = String, headers(("retry-after" = String))),
        (status = 500, description = "The server failed; a short page says so",
            content_type = "text/html", body = String),
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(source_ip): ClientIp,
    Form(form): Form<LoginForm>,
) -> Result<Response, UiError> {
    let username = form
        .username
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| ADMIN.to_owned());
    let address = source_ip.clone().unwrap_or_default();
    let actor = Actor {
        actor: Some(username.clone()),
        source_ip: source_ip.clone(),
        token: None,
    };
    if let Some(wait) = state.login_throttle.wait_for(&address).await? {
        let error =
            format!("Too many failed logins from this address; try again in {wait} seconds.");
        let mut response =
            render_login(&state, username, error, StatusCode::TOO_MANY_REQUESTS).await?;
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }

    let password = form.password.unwrap_or_default();
    let account = accounts::find(&state.db, &username).await?;
    let verified = match &account {
        Some(account) => password::verify(password, account.password_hash.clone()).await,
        None => false,
    };
    let Some(account) = account.filter(|_| verified) else {
        if let Err(error) = state.login_throttle.record_failure(&address).await {
            tracing::error!(%error, "failed login not counted");
        }
        let event = NewEvent {
            kind: "auth.login.failed",
            subject_kind: "auth",
            subject_id: username.clone(),
            summary: format!("failed login for '{username}'"),
            details: Some(json!({"username": username})),
        };
        audit::record(&state.db, &state.live, &actor, event).await;
        let error = format!("Invalid password for '{username}'.");
        return render_login(&state, username, error, StatusCode::OK).await;
    };

    if let Err(error) = state.login_throttle.record_success(&address).await {
        tracing::warn!(%error, "failed logins not cleared after a success");
    }
    let token = sessions::create(&state.db, account.id, source_ip).await?;
    let event = NewEvent {
        kind: "auth.login.succeeded",
        subject_kind: "auth",
        subject_id: username.clone(),
        summary: format!("operator '{username}' logged in"),
        details: None,
    };
    audit::record(&state.db, &state.live, &actor, event).await;
    Ok(with_cookie(
        Redirect::to("/ui/images").into_response(),
        &sessions::cookie(&token, state.settings.secure_cookies()),
    ))
}

/// `POST /ui/logout`: revokes the session on the server, so the old cookie
/// stops working too, and returns to the login page.
#[utoipa::path(
    post,
    path = "/ui/logout",
    tag = "pages",
    responses(
        (status = 303, description = "Logged out: clears the cookie, to `/ui/login`",
            headers(("location" = String), ("set-cookie" = String))),
        (status = 500, description = "The server failed; a short page says so",
            content_type = "text/html", body = String),
    ),
)]
async fn logout(
    State(state): State<AppState>,
    ClientIp(source_ip): ClientIp,
    token: Option<Extension<SessionToken>>,
    operator: Option<Extension<Operator>>,
) -> Result<Response, UiError> {
    if let Some(Extension(SessionToken(token))) = token {
        sessions::revoke(&state.db, &token).await?;
        let username = operator
            .map(|Extension(op)| op.username)
            .unwrap_or_default();
        let event = NewEvent {
            kind: "auth.logout",
            subject_kind: "auth",
            subject_id: username.clone(),
            summary: format!("operator '{username}' logged out"),
            details: None,
        };
        let actor = Actor {
            actor: Some(username),
            source_ip,
            token: None,
        };
        audit::record(&state.db, &state.live, &actor, event).await;
    }
    Ok(with_cookie(
        Redirect::to(LOGIN).into_response(),
        &sessions::clearing_cookie(state.settings.secure_cookies()),
    ))
}

/// Renders the login page again, with the attempt's name and error.
async fn render_login(
    state: &AppState,
    username: String,
    error: String,
    status: StatusCode,
) -> Result<Response, UiError> {
    let notice = LoginNotice {
        username,
        error: Some(error),
    };
    let request = Request::get(LOGIN).extension(LoginAttempt(notice));
    render_page(state, request, status).await
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
