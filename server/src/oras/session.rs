//! One conversation with a registry: requests retried with backoff on 429
//! and 5xx, a 401 answered by following its `WWW-Authenticate` challenge,
//! bodies read with a cap, and error answers turned into [`OrasError`]s.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::{
    header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH},
    Method, Response, StatusCode,
};
use serde::Deserialize;

use super::{
    auth::{Challenge, TokenResponse},
    OrasClient, OrasError,
};
use crate::{
    outbound::{self, SendError},
    retry,
};

/// Token endpoints answer with a few KB.
const TOKEN_CAP: usize = 1024 * 1024;
/// Enough of an error body to find the registry's message.
const ERROR_BODY_CAP: usize = 64 * 1024;

/// Requests to one repository, sharing the authorization won from a challenge.
pub(super) struct Session<'a> {
    client: &'a OrasClient,
    host: &'a str,
    repository: &'a str,
    /// What the last challenge gave: `Bearer …` or `Basic …`.
    pub authorization: Option<HeaderValue>,
    /// Whether a 500 is retried like other 5xx (see `resolve_now`).
    pub retry_internal_errors: bool,
}

impl<'a> Session<'a> {
    pub fn new(
        client: &'a OrasClient,
        host: &'a str,
        repository: &'a str,
        authorization: Option<HeaderValue>,
    ) -> Self {
        Session {
            client,
            host,
            repository,
            authorization,
            retry_internal_errors: true,
        }
    }

    /// Sends `method url`; a 401 is answered once by its challenge, then
    /// the request is repeated with the authorization it gave.
    pub async fn send(
        &mut self,
        method: Method,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Response, OrasError> {
        let build = |authorization: Option<HeaderValue>| {
            let mut request = self.client.http.request(method.clone(), url);
            if let Some(accept) = accept {
                request = request.header(ACCEPT, accept);
            }
            if let Some(authorization) = authorization {
                request = request.header(AUTHORIZATION, authorization);
            }
            request
        };
        let response = self
            .client
            .send_with_retry(url, self.retry_internal_errors, || {
                build(self.authorization.clone())
            })
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = Challenge::from_headers(response.headers());
        let authorization = self.authenticate(challenge).await?;
        self.authorization = Some(authorization.clone());
        let response = self
            .client
            .send_with_retry(url, self.retry_internal_errors, || {
                build(Some(authorization.clone()))
            })
            .await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            let basic = authorization.as_bytes().starts_with(b"Basic ");
            return Err(OrasError::Unauthorized {
                host: self.host.to_owned(),
                detail: if basic {
                    "it refused the configured credentials (BTY_ORAS_USERNAME, BTY_ORAS_PASSWORD)"
                } else {
                    "it refused the token its own token service issued"
                }
                .into(),
            });
        }
        Ok(response)
    }

    /// The `Authorization` value a 401's challenge leads to.
    async fn authenticate(&self, challenge: Option<Challenge>) -> Result<HeaderValue, OrasError> {
        let unauthorized = |detail: String| OrasError::Unauthorized {
            host: self.host.to_owned(),
            detail,
        };
        let (realm, service, scope) = match challenge {
            None => {
                return Err(unauthorized(
                    "it answered without a Bearer or Basic WWW-Authenticate challenge".into(),
                ))
            }
            Some(Challenge::Basic) => {
                return self.client.basic_authorization().ok_or_else(|| {
                    unauthorized(
                        "it asks for a user name and password \
                         (set BTY_ORAS_USERNAME and BTY_ORAS_PASSWORD)"
                            .into(),
                    )
                })
            }
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => (realm, service, scope),
        };
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(unauthorized(format!(
                "its token realm {realm:?} is not a URL"
            )));
        }
        let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", self.repository));
        let mut query = vec![("scope", scope)];
        query.extend(service.map(|service| ("service", service)));
        let credentials = self
            .client
            .credentials
            .as_ref()
            .filter(|_| self.client.may_send_credentials_to(&realm));
        let response = self
            .client
            .send_with_retry(&realm, true, || {
                let request = self.client.http.get(&realm).query(&query);
                match credentials {
                    Some((user, password)) => request.basic_auth(user, Some(password)),
                    None => request,
                }
            })
            .await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let how = if credentials.is_some() {
                "with the configured credentials"
            } else {
                "anonymously (BTY_ORAS_USERNAME and BTY_ORAS_PASSWORD are not set)"
            };
            return Err(unauthorized(format!(
                "its token service {realm} refused a token {how} (HTTP {})",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(fail(response, &realm, &realm, self.host).await);
        }
        let body = read_capped(response, TOKEN_CAP, &realm).await?;
        let malformed = |message: String| OrasError::Malformed {
            url: realm.clone(),
            what: "token response",
            message,
        };
        let token = serde_json::from_slice::<TokenResponse>(&body)
            .map_err(|e| malformed(e.to_string()))?
            .into_token()
            .ok_or_else(|| malformed("no token or access_token".into()))?;
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| malformed("the token is not a valid header value".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl OrasClient {
    /// Sends what `build` makes, again after a pause while the answer is 429
    /// or 5xx (500 only when `retry_500`): up to the policy's attempts,
    /// doubling the pause, or waiting what `Retry-After` asks when that is
    /// short. A long `Retry-After` ends the retries early.
    pub(super) async fn send_with_retry(
        &self,
        url: &str,
        retry_500: bool,
        build: impl Fn() -> outbound::Request,
    ) -> Result<Response, OrasError> {
        let mut attempt = 1;
        loop {
            let response = build().send().await.map_err(|error| match error {
                SendError::Refused(refused) => OrasError::Refused(refused),
                SendError::Http(error) => unreachable(url, &error),
            })?;
            let status = response.status();
            let busy = retry::is_transient(status)
                && (retry_500 || status != StatusCode::INTERNAL_SERVER_ERROR);
            if !busy {
                return Ok(response);
            }
            let asked = retry::retry_after(response.headers());
            let Some(wait) = self.retry.pause_after(attempt, asked) else {
                return Ok(response);
            };
            tracing::debug!(
                url,
                status = status.as_u16(),
                attempt,
                ?wait,
                "registry busy; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// Reads a whole body, refusing more than `cap` bytes.
pub(super) async fn read_capped(
    response: Response,
    cap: usize,
    url: &str,
) -> Result<Bytes, OrasError> {
    let too_large = || OrasError::TooLarge {
        what: url.to_owned(),
        cap: cap as u64,
    };
    if content_length(response.headers()).is_some_and(|length| length > cap as u64) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| unreachable(url, &e))?;
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The `Content-Length` header (reqwest's own accessor is 0 for HEAD).
pub(super) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// The error an unsuccessful answer about `reference` stands for, with the
/// registry's own message (`manifest unknown`, `blob unknown`, …).
pub(super) async fn fail(response: Response, url: &str, reference: &str, host: &str) -> OrasError {
    let status = response.status();
    let detail = match read_capped(response, ERROR_BODY_CAP, url).await {
        Ok(body) => error_detail(&body),
        Err(_) => None,
    }
    .unwrap_or_else(|| status.canonical_reason().unwrap_or("no reason").to_owned());
    match status {
        StatusCode::NOT_FOUND => OrasError::NotFound {
            reference: reference.to_owned(),
            detail,
        },
        StatusCode::UNAUTHORIZED => OrasError::Unauthorized {
            host: host.to_owned(),
            detail,
        },
        StatusCode::FORBIDDEN => OrasError::Forbidden {
            host: host.to_owned(),
            reference: reference.to_owned(),
            detail,
        },
        _ => OrasError::Status {
            status: status.as_u16(),
            url: url.to_owned(),
            detail,
        },
    }
}

/// The messages of a distribution-spec error body, else short plain text.
fn error_detail(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Envelope {
        errors: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        code: Option<String>,
        message: Option<String>,
    }
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(body) {
        let messages: Vec<String> = envelope
            .errors
            .into_iter()
            .filter_map(|e| e.message.filter(|m| !m.is_empty()).or(e.code))
            .collect();
        return (!messages.is_empty()).then(|| messages.join("; "));
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty() && !text.starts_with('<')).then(|| text.chars().take(200).collect::<String>())
}

fn unreachable(url: &str, error: &reqwest::Error) -> OrasError {
    let message = outbound::with_causes(error);
    let hint = if url.starts_with("https://") && error.is_connect() {
        " (a plain-http registry must be listed in BTY_ORAS_INSECURE_REGISTRIES)"
    } else {
        ""
    };
    OrasError::Unreachable {
        url: url.to_owned(),
        message,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_error_messages_are_joined() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}},{"code":"X"}]}"#;
        assert_eq!(error_detail(body).as_deref(), Some("manifest unknown; X"));
    }

    #[test]
    fn plain_text_error_bodies_are_kept_short_and_html_is_dropped() {
        assert_eq!(error_detail(b" busy \n").as_deref(), Some("busy"));
        assert_eq!(error_detail(&[b'a'; 500]).map(|d| d.len()), Some(200));
        assert_eq!(error_detail(b"<html>oops</html>"), None);
        assert_eq!(error_detail(b""), None);
    }
}
