//! Who is asking: operators, their passwords, sessions and API tokens, and
//! what a request carries of them (the session cookie, a bearer token, the
//! client address). The middleware in `routes/authenticate.rs` resolves
//! them into an [`Operator`] and a [`ClientIp`] for every request; JSON
//! handlers take `Operator` as an extractor, which answers 401
//! `{"detail":"login required"}` when it is missing.

pub mod accounts;
pub mod bootstrap;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod tokens;

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request},
    http::{header, request::Parts, HeaderMap},
};

pub use sessions::Operator;

use crate::error::ApiError;

/// The client's address, normalised (an IPv4-mapped IPv6 address becomes
/// plain IPv4).
#[derive(Clone, Debug)]
pub struct ClientIp(pub Option<String>);

/// The session token the request came with, when that is how it logged in.
#[derive(Clone, Debug)]
pub struct SessionToken(pub String);

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

/// The caller's address: the first `X-Forwarded-For` hop behind a trusted
/// proxy, else the peer's.
pub fn client_ip(request: &Request, trusted_proxy: bool) -> Option<String> {
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

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

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
