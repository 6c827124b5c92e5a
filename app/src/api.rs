//! The browser's client of the JSON API: the same endpoints API consumers
//! call, over same-origin `fetch` (the session cookie goes along). Each call
//! returns the server's `detail` text on failure, for the page to show.
//! Server builds get stand-ins that fail, since only event handlers call
//! these and handlers never run during server rendering. Uploads go over
//! `XMLHttpRequest` instead (for upload progress and abort); this module
//! gives them their URL and reads their answer.

use crate::components::format::encode_query_value;
use crate::model::{
    CatalogPage, DownloadRequest, EnqueueRequest, Event, EventList, EventsFilter, UploadResult,
    EVENTS_PAGE_SIZE,
};

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
    let body = DownloadRequest {
        name: name.to_string(),
        update: false,
    };
    transport::post_json("/catalog/downloads", &body).await
}

/// Re-resolves a rolling entry and downloads it again; the cached bytes stay
/// until the new ones are verified (`POST /catalog/downloads`, 202).
pub async fn update_download(name: &str) -> Result<(), String> {
    let body = DownloadRequest {
        name: name.to_string(),
        update: true,
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

/// Pins an entry in the cache (`PUT /catalog/cache/{name}/pin`: the quota
/// never evicts its bytes) or unpins it (`DELETE`), 200.
pub async fn pin_cached(name: &str, pinned: bool) -> Result<(), String> {
    let url = format!("/catalog/cache/{}/pin", transport::encode(name));
    if pinned {
        transport::put(&url).await
    } else {
        transport::delete(&url).await
    }
}

/// Deletes the catalog entries with this source URL
/// (`DELETE /catalog/entries?src=`, 200).
pub async fn delete_entry(src: &str) -> Result<(), String> {
    transport::delete(&format!("/catalog/entries?src={}", transport::encode(src))).await
}

/// The URL of one page of the filtered catalog, on the page and the API.
pub fn catalog_view_query(query: &str, page: usize) -> String {
    let mut url = format!("page={page}");
    if !query.is_empty() {
        url = format!("q={}&{url}", encode_query_value(query));
    }
    url
}

/// One page of the filtered catalog (`GET /catalog/view`).
pub async fn catalog_view(query: &str, page: usize) -> Result<CatalogPage, String> {
    transport::get_json(&format!(
        "/catalog/view?{}",
        catalog_view_query(query, page)
    ))
    .await
}

/// The query of `GET /events` for the newest page under `filter`
/// (`before_id` left out).
pub fn events_query(filter: &EventsFilter) -> String {
    let mut pairs: Vec<String> = filter
        .pairs()
        .into_iter()
        .map(|(key, value)| format!("{key}={}", encode_query_value(&value)))
        .collect();
    pairs.push(format!("limit={EVENTS_PAGE_SIZE}"));
    pairs.join("&")
}

/// The newest page of the audit log under `filter` (`GET /events`).
pub async fn events(filter: &EventsFilter) -> Result<Vec<Event>, String> {
    let list: EventList = transport::get_json(&format!("/events?{}", events_query(filter))).await?;
    Ok(list.events)
}

/// Where an image is uploaded to: `/images/{name}`, the name
/// percent-encoded as one path segment (RFC 3986 unreserved characters stay),
/// so `/`, `%`, `?`, `#` and spaces in a file name reach the server intact.
pub fn image_path(name: &str) -> String {
    format!("/images/{}", encode_query_value(name))
}

/// Reads the answer to an upload: status `0` is the browser's "no answer"
/// (connection refused or cut), 2xx carries the stored image and its SHA-256, anything
/// else the server's `detail` (see [`error_message`]).
pub fn upload_result(status: u16, body: &str) -> Result<UploadResult, String> {
    match status {
        0 => Err("network error".to_string()),
        200..=299 => crate::model::json::read(body)
            .map_err(|error| format!("unreadable answer from the server: {error}")),
        _ => Err(error_message(status, body)),
    }
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
                    None => json_text(item),
                },
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => json_text(&other),
    };
    if text.trim().is_empty() {
        format!("HTTP {status}")
    } else {
        text
    }
}

/// A JSON value written back as compact JSON, for a `detail` of another
/// shape. By hand: `Value`'s own `Display` brings serde_json's whole
/// serializer (pretty one included) into the browser bundle.
fn json_text(value: &serde_json::Value) -> String {
    use serde_json::Value;
    let quoted = |text: &str| {
        let mut out = String::with_capacity(text.len() + 2);
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(n), _, _) => n.to_string(),
            (_, Some(n), _) => n.to_string(),
            (_, _, Some(n)) => float_text(n),
            _ => String::new(),
        },
        Value::String(text) => quoted(text),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(json_text).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(key, value)| format!("{}:{}", quoted(key), json_text(value)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
    }
}

/// A JSON float as Rust's `Display` writes it (`1.5`, `0.0000001`). In the
/// browser from JavaScript's shortest form (the same digits, perhaps with an
/// exponent), so core's float formatting stays out of the bundle.
fn float_text(n: f64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let shortest = js_sys::Number::from(n)
            .to_string_with_radix(10)
            .map(String::from)
            .unwrap_or_default();
        plain_decimal(&shortest, n.is_sign_negative())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        n.to_string()
    }
}

/// A decimal number (`-1.25e-7`, `1e+21`, `12.5`) written out without an
/// exponent, as Rust's `Display` writes floats; `negative` gives the sign
/// (so negative zero keeps it).
pub fn plain_decimal(number: &str, negative: bool) -> String {
    let number = number.trim_start_matches('-');
    let (mantissa, exponent) = match number.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (
            mantissa,
            exponent.trim_start_matches('+').parse::<i64>().unwrap_or(0),
        ),
        None => (number, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    // The decimal point sits after `point` digits of `digits`.
    let mut point = whole.len() as i64 + exponent;
    let leading = digits.len() - digits.trim_start_matches('0').len();
    point -= leading as i64;
    let digits = digits.trim_matches('0');
    let sign = if negative { "-" } else { "" };
    let len = digits.len() as i64;
    if digits.is_empty() {
        format!("{sign}0")
    } else if point <= 0 {
        format!(
            "{sign}0.{}{digits}",
            "0".repeat(point.unsigned_abs() as usize)
        )
    } else if point >= len {
        format!("{sign}{digits}{}", "0".repeat((point - len) as usize))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{sign}{whole}.{fraction}")
    }
}

#[cfg(feature = "hydrate")]
mod transport {
    //! The browser's `fetch`, called directly (same origin, so the session
    //! cookie goes along): a wrapper crate for three calls cost more bundle
    //! than it saved.

    use serde::Serialize;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    /// Percent-encodes a path segment or query value.
    pub fn encode(value: &str) -> String {
        String::from(js_sys::encode_uri_component(value))
    }

    /// POSTs a JSON body; any 2xx is success.
    pub async fn post_json<T: Serialize>(url: &str, body: &T) -> Result<(), String> {
        let body = serde_json::to_string(body).map_err(|error| error.to_string())?;
        check(fetch("POST", url, Some(&body)).await?)
    }

    /// Sends a DELETE; any 2xx is success.
    pub async fn delete(url: &str) -> Result<(), String> {
        check(fetch("DELETE", url, None).await?)
    }

    /// Sends a PUT without a body; any 2xx is success.
    pub async fn put(url: &str) -> Result<(), String> {
        check(fetch("PUT", url, None).await?)
    }

    /// GETs JSON.
    pub async fn get_json<T: crate::model::json::FromJson>(url: &str) -> Result<T, String> {
        let body = check_body(fetch("GET", url, None).await?)?;
        crate::model::json::read(&body)
    }

    /// A finished request: its status and body.
    struct Answer {
        status: u16,
        body: String,
    }

    async fn fetch(method: &str, url: &str, json: Option<&str>) -> Result<Answer, String> {
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        if let Some(json) = json {
            let headers = web_sys::Headers::new().map_err(failed)?;
            headers
                .set("Content-Type", "application/json")
                .map_err(failed)?;
            init.set_headers(&headers);
            init.set_body(&JsValue::from_str(json));
        }
        let response: web_sys::Response =
            JsFuture::from(leptos::prelude::window().fetch_with_str_and_init(url, &init))
                .await
                .map_err(failed)?
                .unchecked_into();
        let body = JsFuture::from(response.text().map_err(failed)?)
            .await
            .map_err(failed)?
            .as_string()
            .unwrap_or_default();
        Ok(Answer {
            status: response.status(),
            body,
        })
    }

    /// `request failed: TypeError: Failed to fetch`, as the browser words it.
    fn failed(error: JsValue) -> String {
        let what = match error.dyn_ref::<js_sys::Error>() {
            Some(error) => format!(
                "{}: {}",
                String::from(error.name()),
                String::from(error.message())
            ),
            None => error
                .as_string()
                .unwrap_or_else(|| "unknown error".to_string()),
        };
        format!("request failed: {what}")
    }

    fn check(answer: Answer) -> Result<(), String> {
        check_body(answer).map(drop)
    }

    fn check_body(answer: Answer) -> Result<String, String> {
        if (200..300).contains(&answer.status) {
            Ok(answer.body)
        } else {
            Err(super::error_message(answer.status, &answer.body))
        }
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

    pub async fn put(_url: &str) -> Result<(), String> {
        Err(BROWSER_ONLY.to_string())
    }

    pub async fn get_json<T>(_url: &str) -> Result<T, String> {
        Err(BROWSER_ONLY.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_view_queries_encode_the_filter() {
        assert_eq!(catalog_view_query("", 1), "page=1");
        assert_eq!(catalog_view_query("deb 12", 3), "q=deb%2012&page=3");
    }

    #[test]
    fn the_events_query_carries_the_filters_and_a_page_size() {
        assert_eq!(events_query(&EventsFilter::default()), "limit=50");
        let filter = EventsFilter {
            subject_kind: Some("image".into()),
            subject_id: Some("a b.img".into()),
            failed: true,
            before_id: Some(7),
            ..Default::default()
        };
        assert_eq!(
            events_query(&filter),
            "subject_kind=image&subject_id=a%20b.img&failed=1&limit=50"
        );
    }

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
    fn upload_names_are_one_encoded_path_segment() {
        assert_eq!(image_path("disk.img"), "/images/disk.img");
        assert_eq!(image_path("my disk.img.gz"), "/images/my%20disk.img.gz");
        assert_eq!(image_path("../x.img"), "/images/..%2Fx.img");
        assert_eq!(image_path("a%2Fb?#.img"), "/images/a%252Fb%3F%23.img");
        assert_eq!(image_path("é.qcow2"), "/images/%C3%A9.qcow2");
    }

    #[test]
    fn a_successful_upload_gives_the_stored_image_and_its_sha() {
        let body = r#"{"name":"a.img","size_bytes":3,"path":"/srv/images/a.img","sha256":"ab12"}"#;
        let image = upload_result(200, body).expect("an image");
        assert_eq!(image.name, "a.img");
        assert_eq!(image.size_bytes, 3);
        assert_eq!(image.sha256, "ab12");
    }

    #[test]
    fn a_refused_upload_shows_the_servers_detail_or_status() {
        let too_big =
            r#"{"detail":"upload exceeded 10 bytes (BTY_MAX_UPLOAD_BYTES). Aborted at 16 bytes."}"#;
        assert_eq!(
            upload_result(413, too_big),
            Err("upload exceeded 10 bytes (BTY_MAX_UPLOAD_BYTES). Aborted at 16 bytes.".into())
        );
        assert_eq!(
            upload_result(400, r#"{"detail":"bad name"}"#),
            Err("bad name".into())
        );
        assert_eq!(upload_result(502, "<html/>"), Err("HTTP 502".into()));
        assert_eq!(upload_result(0, ""), Err("network error".into()));
        assert!(upload_result(200, "not json")
            .unwrap_err()
            .starts_with("unreadable answer"));
    }

    #[test]
    fn a_detail_of_another_shape_is_shown_as_json() {
        assert_eq!(
            error_message(500, r#"{"detail":{"code":7,"why":"a \"b\""}}"#),
            r#"{"code":7,"why":"a \"b\""}"#
        );
        assert_eq!(
            error_message(500, r#"{"detail":[1.5,true,null]}"#),
            "1.5; true; null"
        );
        assert_eq!(error_message(500, r#"{"detail":42}"#), "42");
    }

    #[test]
    fn floats_are_written_out_as_rust_writes_them() {
        let mut values = vec![
            0.0, -0.0, 1.5, -2.25, 1e21, 1.2345e22, 1e-7, 123.456, 5e-324,
        ];
        values.extend([f64::MAX, f64::MIN_POSITIVE, 0.1 + 0.2, 100.0, 1e15, 1e16]);
        for value in values {
            let shortest = format!("{:e}", value.abs());
            assert_eq!(
                plain_decimal(&shortest, value.is_sign_negative()),
                value.to_string(),
                "{shortest}"
            );
        }
        // JavaScript's spellings of the same numbers.
        assert_eq!(plain_decimal("1e+21", false), "1000000000000000000000");
        assert_eq!(plain_decimal("1.5e-7", false), "0.00000015");
        assert_eq!(plain_decimal("-12.5", true), "-12.5");
        assert_eq!(plain_decimal("0", true), "-0");
        assert_eq!(plain_decimal("120", false), "120");
    }

    #[test]
    fn a_body_without_detail_shows_the_status() {
        assert_eq!(error_message(502, "<html>Bad gateway</html>"), "HTTP 502");
        assert_eq!(error_message(500, r#"{"detail":""}"#), "HTTP 500");
        assert_eq!(error_message(500, ""), "HTTP 500");
    }
}
