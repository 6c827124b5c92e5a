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
    Extension, Form, Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes};
use serde::Deserialize;
use serde_json::json;
use utoipa::{
    openapi::{
        path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn},
        security::SecurityRequirement,
        Content, ObjectBuilder, ResponseBuilder, Type,
    },
    IntoParams, ToSchema,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit::{self, Actor, NewEvent},
    auth::{accounts, bootstrap::ADMIN, password, sessions, ClientIp, Operator, SessionToken},
    pages::Pages,
    state::AppState,
};

/// The form posts, and the Leptos pages with the static files as fallback.
/// The pages come from the app's own route list, and so does their
/// documentation: one `text/html` operation per page and method.
pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let listings = leptos_axum::generate_route_list(App);
    let pages = Router::new()
        .leptos_routes_with_context(state, listings.clone(), page_context(state), shell(state))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ));
    let mut router = OpenApiRouter::from(pages)
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(super::ui_tokens::create))
        .routes(routes!(super::ui_tokens::revoke));
    let paths = &mut router.get_openapi_mut().paths;
    for listing in &listings {
        for (method, operation) in page_operations(listing) {
            paths.add_path_operation(listing.path(), vec![method], operation);
        }
    }
    router
}

/// Pages shown without a session.
const OPEN_PAGES: [&str; 1] = ["/ui/login"];

/// The documentation of one Leptos page, for each method it answers.
fn page_operations(listing: &AxumRouteListing) -> Vec<(HttpMethod, Operation)> {
    let text = || ObjectBuilder::new().schema_type(Type::String).build();
    let query = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .description(Some(description))
            .schema(Some(text()))
            .build()
    };
    let parameters = match listing.path() {
        "/ui/images" => vec![
            query(
                "section",
                "list, fetch, upload-catalog, upload-image or upload-image-from-url",
            ),
            query("error", "A message for the page's error slot"),
            query("q", "Catalog filter"),
            query("page", "Catalog page, 1-based"),
        ],
        "/ui/events" => app::model::EventsFilter::into_params(|| Some(ParameterIn::Query)),
        _ => Vec::new(),
    };
    let open = OPEN_PAGES.contains(&listing.path());
    listing
        .methods()
        .map(|method| {
            let method = match method {
                leptos_router::Method::Post => HttpMethod::Post,
                leptos_router::Method::Put => HttpMethod::Put,
                leptos_router::Method::Delete => HttpMethod::Delete,
                leptos_router::Method::Patch => HttpMethod::Patch,
                leptos_router::Method::Get => HttpMethod::Get,
            };
            let mut operation = OperationBuilder::new()
                .tag("pages")
                .summary(Some(format!("The page {}", listing.path())))
                .parameters(Some(parameters.clone()))
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description("The server-rendered page")
                        .content("text/html", Content::new(Some(text()))),
                );
            if !open {
                operation = operation
                    .response(
                        "303",
                        ResponseBuilder::new().description("To `/ui/login` without a session"),
                    )
                    .security(SecurityRequirement::new("cookie", Vec::<String>::new()));
            }
            (method, operation.build())
        })
        .collect()
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
    )
)]
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
#[utoipa::path(
    post,
    path = "/ui/logout",
    tag = "pages",
    responses((status = 303, description = "Logged out: clears the cookie, to `/ui/login`",
        headers(("location" = String), ("set-cookie" = String)))),
)]
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
