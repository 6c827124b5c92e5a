//! The browser's client of the JSON API: the same endpoints API consumers
//! call, over same-origin `fetch` (the session cookie goes along). Each call
//! returns the server's `detail` text on failure, for the page to show.
//! Server builds get stand-ins that fail, since only event handlers call
//! these and handlers never run during server rendering.

use crate::model::EnqueueRequest;

/// Queues hashing of a file in the image root (`POST /catalog/hashes`, 202).
pub async fn enqueue_hash(name: &str) -> Result<(), String> {
    let body = EnqueueRequest {
        name: name.to_string(),
    };
    transport::post_json("/catalog/hashes", &body).await
}

/// Cancels a queued or running hash (`DELETE /catalog/hashes/{name}`, 200).
pub async fn cancel_hash(name: &str) -> Result<(), String> {
    transport::delete(&format!("/catalog/hashes/{}", transport::encode(name))).await
}

/// Queues a download into the cache (`POST /catalog/downloads`, 202).
pub async fn enqueue_download(name: &str) -> Result<(), String> {
    let body = EnqueueRequest {
        name: name.to_string(),
    };
    transport::post_json("/catalog/downloads", &body).await
}

/// Cancels a queued or running download (`DELETE /catalog/downloads/{name}`, 200).
pub async fn cancel_download(name: &str) -> Result<(), String> {
    transport::delete(&format!("/catalog/downloads/{}", transport::encode(name))).await
}

/// Drops the cached bytes of an entry and keeps its metadata
/// (`DELETE /catalog/cache/{name}`, 200).
pub async fn evict_cache(name: &str) -> Result<(), String> {
    transport::delete(&format!("/catalog/cache/{}", transport::encode(name))).await
}

/// Deletes the catalog entries with this source URL
/// (`DELETE /catalog/entries?src=`, 200).
pub async fn delete_entry(src: &str) -> Result<(), String> {
    transport::delete(&format!("/catalog/entries?src={}", transport::encode(src))).await
}

/// The text to show for a failed call: the body's `detail` (a string, or a
/// list of validation errors whose `msg`s are joined), else `HTTP <status>`.
pub fn error_message(status: u16, body: &str) -> String {
    let detail = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json.get("detail").cloned());
    let text = match detail {
        Some(serde_json::Value::String(text)) => text,
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| match item.get("msg").and_then(|msg| msg.as_str()) {
                Some(msg) => msg.to_string(),
                None => match item.as_str() {
                    Some(text) => text.to_string(),
                    None => item.to_string(),
                },
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    if text.trim().is_empty() {
        format!("HTTP {status}")
    } else {
        text
    }
}

#[cfg(feature = "hydrate")]
mod transport {
    //! gloo-net over the browser's `fetch`.

    use gloo_net::http::{Request, Response};
    use serde::Serialize;

    /// Percent-encodes a path segment or query value.
    pub fn encode(value: &str) -> String {
        String::from(js_sys::encode_uri_component(value))
    }

    /// POSTs a JSON body; any 2xx is success.
    pub async fn post_json<T: Serialize>(url: &str, body: &T) -> Result<(), String> {
        let request = Request::post(url)
            .json(body)
            .map_err(|error| error.to_string())?;
        check(request.send().await).await
    }

    /// Sends a DELETE; any 2xx is success.
    pub async fn delete(url: &str) -> Result<(), String> {
        check(Request::delete(url).send().await).await
    }

    async fn check(response: Result<Response, gloo_net::Error>) -> Result<(), String> {
        let response = response.map_err(|error| format!("request failed: {error}"))?;
        if response.ok() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(super::error_message(response.status(), &body))
    }
}

#[cfg(not(feature = "hydrate"))]
mod transport {
    //! Server build: nothing to call.

    use serde::Serialize;

    const BROWSER_ONLY: &str = "the API client runs in the browser only";

    pub fn encode(value: &str) -> String {
        crate::components::format::encode_query_value(value)
    }

    pub async fn post_json<T: Serialize>(_url: &str, _body: &T) -> Result<(), String> {
        Err(BROWSER_ONLY.to_string())
    }

    pub async fn delete(_url: &str) -> Result<(), String> {
        Err(BROWSER_ONLY.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_detail_is_shown_as_it_is() {
        let body = r#"{"detail":"no image file at /srv/images/x.img"}"#;
        assert_eq!(
            error_message(404, body),
            "no image file at /srv/images/x.img"
        );
    }

    #[test]
    fn validation_errors_show_their_messages() {
        let body =
            r#"{"detail":[{"loc":["body","name"],"msg":"field required"},{"msg":"too long"}]}"#;
        assert_eq!(error_message(422, body), "field required; too long");
    }

    #[test]
    fn a_body_without_detail_shows_the_status() {
        assert_eq!(error_message(502, "<html>Bad gateway</html>"), "HTTP 502");
        assert_eq!(error_message(500, r#"{"detail":""}"#), "HTTP 500");
        assert_eq!(error_message(500, ""), "HTTP 500");
    }
}
