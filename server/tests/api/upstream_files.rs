//! A real HTTP file server on 127.0.0.1 for download tests: it serves one
//! generated file at any path and can misbehave the ways upstreams do: cut
//! the connection after N bytes (once), honour or refuse `Range`, honour
//! `If-Range` with its ETag, go slowly, change the content (and ETag), and
//! answer 429 or 503 a number of times. It records every request's method
//! and range headers, so tests can assert what was asked.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    Router,
};
use bytes::Bytes;

/// Bytes per body chunk.
const CHUNK: usize = 64 * 1024;

/// One request as the upstream saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub if_none_match: Option<String>,
}

struct Config {
    content: Bytes,
    version: u32,
    ranges: bool,
    cut_after: Option<usize>,
    pause_per_chunk: Option<Duration>,
    failures: VecDeque<StatusCode>,
    seen: Vec<Seen>,
}

#[derive(Clone)]
pub struct FileUpstream {
    pub base: String,
    config: Arc<Mutex<Config>>,
}

/// `len` bytes of a pattern that differs by `seed`.
pub fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

impl FileUpstream {
    pub async fn start(content: Vec<u8>) -> Self {
        let config = Arc::new(Mutex::new(Config {
            content: content.into(),
            version: 1,
            ranges: true,
            cut_after: None,
            pause_per_chunk: None,
            failures: VecDeque::new(),
            seen: Vec::new(),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let app = Router::new().fallback(serve).with_state(config.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("upstream serves");
        });
        FileUpstream { base, config }
    }

    fn with<T>(&self, change: impl FnOnce(&mut Config) -> T) -> T {
        change(&mut self.config.lock().expect("upstream lock"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Serves new content under a new ETag.
    pub fn set_content(&self, content: Vec<u8>) {
        self.with(|c| {
            c.content = content.into();
            c.version += 1;
        });
    }

    /// Answers every request with the whole file (no `Accept-Ranges`).
    pub fn refuse_ranges(&self) {
        self.with(|c| c.ranges = false);
    }

    /// The next GET's connection is cut after `bytes` of body.
    pub fn cut_once_after(&self, bytes: usize) {
        self.with(|c| c.cut_after = Some(bytes));
    }

    /// Waits this long before each 64 KiB chunk (`None`: full speed).
    pub fn throttle(&self, pause: Option<Duration>) {
        self.with(|c| c.pause_per_chunk = pause);
    }

    /// The next `times` GETs answer `status` (with `Retry-After: 0`).
    pub fn fail(&self, status: StatusCode, times: usize) {
        self.with(|c| c.failures.extend(std::iter::repeat_n(status, times)));
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.with(|c| c.seen.clone())
    }

    /// The GETs so far.
    pub fn gets(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == Method::GET)
            .collect()
    }
}

fn etag(version: u32) -> String {
    format!("\"v{version}\"")
}

async fn serve(State(config): State<Arc<Mutex<Config>>>, request: Request) -> Response {
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let seen = Seen {
        method: request.method().clone(),
        range: text(header::RANGE),
        if_range: text(header::IF_RANGE),
        if_none_match: text(header::IF_NONE_MATCH),
    };
    let (content, version, ranges, cut, pause, failure) = {
        let mut c = config.lock().expect("upstream lock");
        c.seen.push(seen.clone());
        let is_get = seen.method == Method::GET;
        let failure = if is_get { c.failures.pop_front() } else { None };
        let cut = if is_get && failure.is_none() {
            c.cut_after.take()
        } else {
            None
        };
        (
            c.content.clone(),
            c.version,
            c.ranges,
            cut,
            c.pause_per_chunk,
            failure,
        )
    };
    if let Some(status) = failure {
        return (status, [(header::RETRY_AFTER, "0")], "busy").into_response();
    }
    let tag = etag(version);
    // A conditional GET whose ETag still matches: nothing to send.
    if seen.if_none_match.as_deref() == Some(tag.as_str()) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        insert(response.headers_mut(), header::ETAG, &tag);
        return response;
    }
    let len = content.len();
    let mut start = 0;
    let mut partial = false;
    if ranges {
        let fresh = seen.if_range.as_deref().is_none_or(|v| v == tag);
        if let (Some(range), true) = (&seen.range, fresh) {
            if let Some(from) = range
                .strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse::<usize>().ok())
            {
                if from >= len {
                    let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                    insert(
                        response.headers_mut(),
                        header::CONTENT_RANGE,
                        &format!("bytes */{len}"),
                    );
                    return response;
                }
                start = from;
                partial = true;
            }
        }
    }
    let body_bytes = content.slice(start..);
    let status = if partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response_headers = HeaderMap::new();
    insert(&mut response_headers, header::ETAG, &tag);
    insert(
        &mut response_headers,
        header::CONTENT_LENGTH,
        &body_bytes.len().to_string(),
    );
    if ranges {
        insert(&mut response_headers, header::ACCEPT_RANGES, "bytes");
    }
    if partial {
        insert(
            &mut response_headers,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{}/{len}", len - 1),
        );
    }
    if seen.method == Method::HEAD {
        // A body of unknown length, so the Content-Length above stands.
        let nothing = futures::stream::empty::<Result<Bytes, std::io::Error>>();
        return (status, response_headers, Body::from_stream(nothing)).into_response();
    }
    let stream = async_stream(body_bytes, cut, pause);
    (status, response_headers, Body::from_stream(stream)).into_response()
}

/// The body in chunks, paced, ending in an error (a cut) after `cut` bytes.
fn async_stream(
    body: Bytes,
    cut: Option<usize>,
    pause: Option<Duration>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::unfold((body, 0usize), move |(body, sent)| async move {
        if sent >= body.len() {
            return None;
        }
        if let Some(cut) = cut {
            if sent >= cut {
                let error = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut");
                return Some((Err(error), (body.slice(0..0), 0)));
            }
        }
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
        let mut end = (sent + CHUNK).min(body.len());
        if let Some(cut) = cut {
            end = end.min(cut.max(sent + 1));
        }
        let chunk = body.slice(sent..end);
        Some((Ok(chunk), (body, end)))
    })
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = value.parse() {
        headers.insert(name, value);
    }
}
