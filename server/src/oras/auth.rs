//! `WWW-Authenticate` challenges (RFC 9110 section 11.6.1) as registries
//! send them: `Bearer realm="…",service="…",scope="…"` (the distribution
//! token flow) or `Basic realm="…"`.

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use serde::Deserialize;

/// What a registry's 401 asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Basic,
}

impl Challenge {
    /// The most useful challenge among the response's headers: Bearer
    /// (anonymous pulls work) before Basic.
    pub fn from_headers(headers: &HeaderMap) -> Option<Challenge> {
        let mut challenges: Vec<Challenge> = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(parse)
            .collect();
        challenges.sort_by_key(|c| matches!(c, Challenge::Basic));
        challenges.into_iter().next()
    }
}

/// The body of a token endpoint's answer.
#[derive(Deserialize)]
pub struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

impl TokenResponse {
    /// `token`, or else `access_token` (both are in the spec).
    pub fn into_token(self) -> Option<String> {
        self.token
            .filter(|t| !t.is_empty())
            .or(self.access_token)
            .filter(|t| !t.is_empty())
    }
}

/// Every Bearer or Basic challenge in one header value; other schemes are
/// skipped.
fn parse(header: &str) -> Vec<Challenge> {
    let mut challenges = Vec::new();
    let mut rest = header.trim();
    // Each pass consumes a scheme or at least one separator.
    while !rest.is_empty() {
        let scheme_end = rest.find([' ', ',']).unwrap_or(rest.len());
        let scheme = &rest[..scheme_end];
        rest = rest[scheme_end..].trim_start_matches([' ', ',']);
        let mut params = Vec::new();
        // auth-params until the next bare token (the next scheme)
        while let Some((name, after)) = param_name(rest) {
            let (value, after) = param_value(after);
            params.push((name.to_ascii_lowercase(), value));
            rest = after.trim_start().trim_start_matches(',').trim_start();
        }
        let param = |key: &str| {
            params
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.clone())
        };
        if scheme.eq_ignore_ascii_case("bearer") {
            if let Some(realm) = param("realm").filter(|r| !r.is_empty()) {
                challenges.push(Challenge::Bearer {
                    realm,
                    service: param("service"),
                    scope: param("scope"),
                });
            }
        } else if scheme.eq_ignore_ascii_case("basic") {
            challenges.push(Challenge::Basic);
        }
    }
    challenges
}

/// `name=` at the start of `text`: the name, and what follows the `=`.
fn param_name(text: &str) -> Option<(&str, &str)> {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))?;
    let after = text[end..].trim_start();
    (end > 0)
        .then_some(())
        .and(after.strip_prefix('='))
        .map(|after| (&text[..end], after.trim_start()))
}

/// A quoted string (with `\` escapes) or a token, and the rest.
fn param_value(text: &str) -> (String, &str) {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return (value, &quoted[i + 1..]),
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                _ => value.push(c),
            }
        }
        (value, "")
    } else {
        let end = text.find([',', ' ']).unwrap_or(text.len());
        (text[..end].to_owned(), &text[end..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn bearer(realm: &str, service: Option<&str>, scope: Option<&str>) -> Challenge {
        Challenge::Bearer {
            realm: realm.to_owned(),
            service: service.map(str::to_owned),
            scope: scope.map(str::to_owned),
        }
    }

    #[test]
    fn a_bearer_challenge_gives_realm_service_and_scope() {
        assert_eq!(
            parse(
                r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:safl/nosi:pull""#
            ),
            [bearer(
                "https://ghcr.io/token",
                Some("ghcr.io"),
                Some("repository:safl/nosi:pull")
            )]
        );
    }

    #[test]
    fn unquoted_values_spaces_escapes_and_case_are_tolerated() {
        assert_eq!(
            parse(r#"bearer Realm=https://h/t , service = "a \"b\"",scope="x:y:pull,push""#),
            [bearer(
                "https://h/t",
                Some("a \"b\""),
                Some("x:y:pull,push")
            )]
        );
    }

    #[test]
    fn several_challenges_in_one_header_are_all_read() {
        assert_eq!(
            parse(r#"Negotiate, Basic realm="r", Bearer realm="https://t""#),
            [Challenge::Basic, bearer("https://t", None, None)]
        );
    }

    #[test]
    fn bearer_is_preferred_over_basic_across_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="x""#),
        );
        headers.append(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="https://t""#),
        );
        assert_eq!(
            Challenge::from_headers(&headers),
            Some(bearer("https://t", None, None))
        );
    }

    #[test]
    fn a_bearer_challenge_without_a_realm_is_ignored() {
        assert!(parse(r#"Bearer service="x""#).is_empty());
        assert!(parse("").is_empty());
    }

    #[test]
    fn the_token_is_read_from_token_or_else_access_token() {
        let read = |json: &str| {
            serde_json::from_str::<TokenResponse>(json)
                .expect("json")
                .into_token()
        };
        assert_eq!(
            read(r#"{"token":"a","access_token":"b"}"#).as_deref(),
            Some("a")
        );
        assert_eq!(
            read(r#"{"token":"","access_token":"b"}"#).as_deref(),
            Some("b")
        );
        assert_eq!(read(r#"{"expires_in":60}"#), None);
    }
}
