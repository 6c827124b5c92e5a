//! The server-rendered UI: Leptos pages under `/ui/`, the login and logout
//! form targets, and the site's static files.

use std::sync::Arc;

use app::{
    model::LoginNotice,
    ssr::{LoginAttempt, PageDataHandle},
    App,
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::post,
    Extension, Form, Router,
};
use leptos::prelude::provide_context;
use leptos_axum::LeptosRoutes;
use serde::Deserialize;
use serde_json::json;

use crate::{
    audit::{self, Actor, NewEvent},
    auth::{accounts, bootstrap::ADMIN, password, sessions, ClientIp, Operator, SessionToken},
    pages::Pages,
    state::AppState,
};

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = leptos_axum::generate_route_list(App);
    Router::new()
        .route("/ui/login", post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/tokens", post(super::ui_tokens::create))
        .route("/ui/tokens/{id}/revoke", post(super::ui_tokens::revoke))
        .leptos_routes_with_context(state, routes, page_context(state), shell(state))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
}

/// What every rendered page gets as context: the page data service.
pub(super) fn page_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let handle = PageDataHandle(Arc::new(Pages(state.clone())));
    move || provide_context(handle.clone())
}

pub(super) fn shell(
    state: &AppState,
) -> impl Fn() -> leptos::prelude::AnyView + Clone + Send + Sync + 'static {
    use leptos::prelude::IntoAny;
    let options = state.leptos_options.clone();
    move || app::shell(options.clone()).into_any()
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// `POST /ui/login`: a session and a 303 to the Images page, or the form
/// again with what went wrong.
async fn login(
    State(state): State<AppState>,
    ClientIp(source_ip): ClientIp,
    Form(form): Form<LoginForm>,
) -> Response {
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
    if let Some(wait) = state.login_throttle.wait_for(&address) {
        let error =
            format!("Too many failed logins from this address; try again in {wait} seconds.");
        let mut response =
            render_login(&state, username, error, StatusCode::TOO_MANY_REQUESTS).await;
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }

    let password = form.password.unwrap_or_default();
    let account = match accounts::find(&state.db, &username).await {
        Ok(account) => account,
        Err(error) => {
            tracing::error!(%error, "login lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let verified = match &account {
        Some(account) => password::verify(password, account.password_hash.clone()).await,
        None => false,
    };
    let Some(account) = account.filter(|_| verified) else {
        state.login_throttle.record_failure(&address);
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

    state.login_throttle.record_success(&address);
    let token = match sessions::create(&state.db, account.id, source_ip).await {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "session not created");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let event = NewEvent {
        kind: "auth.login.succeeded",
        subject_kind: "auth",
        subject_id: username.clone(),
        summary: format!("operator '{username}' logged in"),
        details: None,
    };
    audit::record(&state.db, &state.live, &actor, event).await;
    with_cookie(
        Redirect::to("/ui/images").into_response(),
        &sessions::cookie(&token, state.settings.secure_cookies()),
    )
}

/// `POST /ui/logout`: revokes the session on the server, so the old cookie
/// stops working too, and returns to the login page.
async fn logout(
    State(state): State<AppState>,
    ClientIp(source_ip): ClientIp,
    token: Option<Extension<SessionToken>>,
    operator: Option<Extension<Operator>>,
) -> Response {
    if let Some(Extension(SessionToken(token))) = token {
        if let Err(error) = sessions::revoke(&state.db, &token).await {
            tracing::error!(%error, "session not revoked");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
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
    with_cookie(
        Redirect::to("/ui/login").into_response(),
        &sessions::clearing_cookie(state.settings.secure_cookies()),
    )
}

/// Renders the login page again, with the attempt's name and error.
async fn render_login(
    state: &AppState,
    username: String,
    error: String,
    status: StatusCode,
) -> Response {
    let render = leptos_axum::render_app_async_with_context(page_context(state), shell(state));
    let notice = LoginNotice {
        username,
        error: Some(error),
    };
    let request = Request::get("/ui/login")
        .extension(LoginAttempt(notice))
        .body(Body::empty());
    let Ok(request) = request else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = render(request).await;
    *response.status_mut() = status;
    response
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
