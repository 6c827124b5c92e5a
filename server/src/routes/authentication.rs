//! The authentication middleware, in front of every route: it resolves the
//! caller (a bearer token, else the session cookie) to an [`Operator`] and
//! the client address to a [`ClientIp`], refuses cross-site state changes,
//! gates `/ui/*` pages (303 to the login page), and slides the session
//! cookie. Which paths skip it or stay open is said next to their routes:
//! [`health::UNAUTHENTICATED`], [`ui::STATIC_PREFIX`], [`ui::OPEN_PATHS`]
//! and [`catalog::API_AUTH_PATHS`].

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::{catalog, health, ui};
use crate::{
    auth::{
        bearer_token, client_ip, cookie_value, sessions, tokens, ClientIp, Operator, SessionToken,
    },
    error::ApiError,
    plumbing::Core,
    settings::Settings,
};

/// Resolves the caller, gates pages, and slides the session cookie.
pub async fn authenticate(State(core): State<Core>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let client_ip = client_ip(&request, core.settings.trusted_proxy);
    request.extensions_mut().insert(ClientIp(client_ip));
    if path.starts_with(ui::STATIC_PREFIX) || path == health::UNAUTHENTICATED {
        return next.run(request).await;
    }

    let mut session_token = None;
    let bearer = bearer_token(request.headers()).filter(|_| !path.starts_with("/ui/"));
    // A browser sends the cookie along on a cross-site form post too: state
    // changes must come from this site. Tokens are never sent by a browser
    // on its own, and `/ui/*` forms do not take them.
    if bearer.is_none()
        && is_state_changing(request.method())
        && !from_this_site(&request, &core.settings)
    {
        return ApiError::Forbidden("cross-site request refused".into()).into_response();
    }
    let operator: Option<Operator> = if let Some(token) = bearer {
        match tokens::resolve(&core.db, &token).await {
            Ok(found) => found,
            Err(error) => return ApiError::from(error).into_response(),
        }
    } else if let Some(token) = cookie_value(request.headers(), sessions::COOKIE) {
        match sessions::resolve(&core.db, &token).await {
            Ok(Some(found)) => {
                session_token = Some(token);
                Some(found)
            }
            Ok(None) => None,
            Err(error) => return ApiError::from(error).into_response(),
        }
    } else {
        None
    };

    match &operator {
        Some(operator) => {
            request.extensions_mut().insert(operator.clone());
            request
                .extensions_mut()
                .insert(app::ssr::CurrentOperator(operator.username.clone()));
        }
        None => {
            let gated = path.starts_with("/ui/")
                && !ui::OPEN_PATHS.contains(&path.as_str())
                && !catalog::API_AUTH_PATHS.contains(&path.as_str());
            if gated {
                return Redirect::to("/ui/login").into_response();
            }
        }
    }
    if let Some(token) = &session_token {
        request.extensions_mut().insert(SessionToken(token.clone()));
    }

    let mut response = next.run(request).await;
    if let Some(token) = session_token {
        // The reference re-issues the cookie on every response, so the
        // 7-day window slides; a response that sets the cookie itself
        // (logout) wins.
        let sets_cookie = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.starts_with(sessions::COOKIE)));
        if !sets_cookie {
            if let Ok(value) =
                HeaderValue::from_str(&sessions::cookie(&token, core.settings.secure_cookies()))
            {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
    }
    response
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// False only when the browser says the request comes from another site:
/// `Sec-Fetch-Site` other than same-origin or none, or an `Origin` that is
/// not this server's. Clients that send neither (scripts, curl) pass.
fn from_this_site(request: &Request, settings: &Settings) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .map(|rest| rest.trim_end_matches('/'));
    let own_hosts = [
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        settings.public_url.as_deref().map(|url| {
            url.split("://")
                .nth(1)
                .unwrap_or(url)
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        }),
    ];
    origin_host.is_some_and(|host| {
        own_hosts
            .iter()
            .flatten()
            .any(|own| own.eq_ignore_ascii_case(host))
    })
}
