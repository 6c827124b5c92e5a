//! Who is asking: the session cookie or an API bearer token resolves to an
//! [`Operator`], the client address to a [`ClientIp`]. One middleware does
//! both for every request, gates `/ui/*` pages (303 to the login page), and
//! slides the session cookie; JSON handlers take `Operator` as an extractor,
//! which answers 401 `{"detail":"login required"}` when it is missing.

pub mod accounts;
pub mod bootstrap;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod tokens;

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

pub use sessions::Operator;

use crate::{error::ApiError, plumbing::Core};

/// The client's address, normalised (an IPv4-mapped IPv6 address becomes
/// plain IPv4).
#[derive(Clone, Debug)]
pub struct ClientIp(pub Option<String>);

/// `/ui/` paths reachable without a session.
const OPEN_UI_PATHS: [&str; 2] = ["/ui/login", "/ui/logout"];
/// `/ui/` form targets that answer 401 like the JSON API, as the reference.
const API_AUTH_UI_PATHS: [&str; 2] = ["/ui/catalog/upload", "/ui/catalog/fetch-release"];

/// The session token the request came with, when that is how it logged in.
#[derive(Clone, Debug)]
pub struct SessionToken(pub String);

/// Resolves the caller, gates pages, and slides the session cookie.
pub async fn authenticate(State(core): State<Core>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let client_ip = client_ip(&request, core.settings.trusted_proxy);
    request.extensions_mut().insert(ClientIp(client_ip));
    if path.starts_with("/pkg/") || path == "/healthz" {
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
    let operator = if let Some(token) = bearer {
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
                && !OPEN_UI_PATHS.contains(&path.as_str())
                && !API_AUTH_UI_PATHS.contains(&path.as_str());
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
fn from_this_site(request: &Request, settings: &crate::settings::Settings) -> bool {
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

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Operator>()
            .cloned()
            .ok_or(ApiError::LoginRequired)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .cloned()
            .unwrap_or(ClientIp(None)))
    }
}

fn client_ip(request: &Request, trusted_proxy: bool) -> Option<String> {
    if trusted_proxy {
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .and_then(|v| v.parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return Some(normalise(ip));
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| normalise(info.0.ip()))
}

fn normalise(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_else(|| v6.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; bty-token=xyz; b=2"),
        );
        assert_eq!(cookie_value(&headers, "bty-token").as_deref(), Some("xyz"));
        assert_eq!(cookie_value(&headers, "missing"), None);
    }

    #[test]
    fn bearer_tokens_need_the_scheme() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer t0k"),
        );
        assert_eq!(bearer_token(&headers).as_deref(), Some("t0k"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn mapped_ipv6_addresses_read_as_ipv4() {
        assert_eq!(normalise("::ffff:127.0.0.1".parse().unwrap()), "127.0.0.1");
        assert_eq!(normalise("::1".parse().unwrap()), "::1");
    }
}
