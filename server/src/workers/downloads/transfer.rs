//! One download's bytes: a GET streamed into the entry's partial file with
//! SHA-256 computed on the way ([`crate::ingest`]). A cut connection or a
//! restart continues from the bytes on disk with `Range`, guarded by
//! `If-Range` (the ETag or Last-Modified the first answer carried); an
//! upstream that changed, or ignores ranges, answers 200 and the file
//! starts over. Transient failures (a reset, a stall, 429, 5xx) retry with
//! backoff, a bounded number of times; other answers fail at once.

use std::{path::Path, time::Duration};

use bytes::Bytes;
use futures::StreamExt;
use reqwest::{
    header::{self, HeaderMap},
    StatusCode,
};
use tokio_util::sync::CancellationToken;

use super::{progress::Progress, source::Target};
use crate::{
    audit::Actor,
    catalog::cache_marks::UpstreamMarks,
    ingest::{Ingest, Staged},
    outbound::{self, events::purpose, Refused, SendError},
    plumbing::Core,
    quota::{NoRoom, Reservation},
    retry::{self, RetryPolicy},
};

/// A chunk must arrive within this, or the connection counts as cut.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a transfer stopped without a file.
#[derive(Debug)]
pub enum Stopped {
    Cancelled,
    Failed(String),
}

/// What a transfer brought.
#[derive(Debug)]
pub enum Fetched {
    /// The complete file, and the upstream's validators for the next
    /// Update to ask with.
    Staged(Staged, UpstreamMarks),
    /// An Update's conditional GET answered 304: nothing changed.
    NotModified,
}

/// What one attempt came to.
enum Attempt {
    Done(Staged, UpstreamMarks),
    NotModified,
    /// Worth another try after a pause (the upstream's wish, if it said),
    /// going on with the bytes and hash state so far.
    Transient(String, Option<Duration>, Option<Ingest>),
    Fatal(String),
    /// The cache cannot make room: the partial goes, nothing is kept.
    NoRoom(String),
    /// The outbound policy refused the URL, a redirect or an address: the
    /// partial goes too.
    Refused(Refused),
    Cancelled,
}

/// Downloads `target` into `partial`, resuming what is there, and returns
/// the complete, synced file (not yet renamed). The partial is kept when
/// cancelled or cut, so a later run can resume it; when `room` cannot be
/// made in the cache it is removed and the transfer fails with the reason.
pub async fn fetch(
    core: &Core,
    target: &Target,
    partial: &Path,
    progress: &Progress,
    room: &Reservation,
    token: &CancellationToken,
) -> Result<Fetched, Stopped> {
    let policy = RetryPolicy::DOWNLOAD;
    let mut attempt = 0;
    // A retry in this run goes on with the open file and its hash state;
    // only a new run (a restart, a Retry) re-reads the partial file.
    let mut kept = None;
    loop {
        attempt += 1;
        progress.attempt(attempt).await;
        let outcome = try_once(core, target, partial, progress, room, token, kept.take()).await;
        let (error, asked, ingest) = match outcome {
            Attempt::Done(staged, marks) => return Ok(Fetched::Staged(staged, marks)),
            Attempt::NotModified => {
                // Asked only with no partial bytes: the empty file goes.
                let _ = tokio::fs::remove_file(partial).await;
                return Ok(Fetched::NotModified);
            }
            Attempt::NoRoom(why) => {
                let _ = tokio::fs::remove_file(partial).await;
                return Err(Stopped::Failed(why));
            }
            Attempt::Refused(refused) => {
                let _ = tokio::fs::remove_file(partial).await;
                outbound::events::refused(
                    &core.db,
                    &core.live,
                    &Actor::system(),
                    purpose::DOWNLOAD,
                    &refused,
                )
                .await;
                return Err(Stopped::Failed(refused.to_string()));
            }
            Attempt::Cancelled => return Err(Stopped::Cancelled),
            Attempt::Fatal(error) => return Err(Stopped::Failed(error)),
            Attempt::Transient(error, asked, ingest) => (error, asked, ingest),
        };
        let stopped = match policy.pause_after(attempt, asked) {
            None => Stopped::Failed(format!("{error} (gave up after {attempt} attempts)")),
            Some(pause) => {
                tracing::info!(url = target.url, attempt, ?pause, %error, "download interrupted; retrying");
                tokio::select! {
                    _ = token.cancelled() => Stopped::Cancelled,
                    _ = tokio::time::sleep(pause) => {
                        kept = ingest;
                        continue;
                    }
                }
            }
        };
        if let Some(ingest) = ingest {
            ingest.abort().await;
        }
        return Err(stopped);
    }
}

async fn try_once(
    core: &Core,
    target: &Target,
    partial: &Path,
    progress: &Progress,
    room: &Reservation,
    token: &CancellationToken,
    kept: Option<Ingest>,
) -> Attempt {
    let mut ingest = match kept {
        Some(ingest) => ingest,
        None => match Ingest::resume(partial).await {
            Ok(ingest) => ingest,
            Err(error) => {
                return Attempt::Fatal(format!("cannot write {}: {error}", partial.display()))
            }
        },
    };
    let have = ingest.bytes();
    let validator = progress.validator();
    // Without a validator a resumed file could mix two versions; a pinned
    // sha is checked at the end, so it may resume without one.
    let resume = have > 0 && (validator.is_some() || target.expected.is_some());
    if have > 0 && !resume {
        ingest = match start_over(ingest, partial, progress).await {
            Ok(ingest) => ingest,
            Err(error) => return Attempt::Fatal(error),
        };
    }
    let mut request = core.http.get(&target.url);
    if let Some(authorization) = &target.authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    if resume {
        request = request.header(header::RANGE, format!("bytes={have}-"));
        if let Some(validator) = &validator {
            request = request.header(header::IF_RANGE, validator);
        }
    } else if let Some(unless) = &target.unless {
        // An Update asks first: a 304 keeps the cached bytes.
        if let Some(etag) = &unless.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &unless.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, modified);
        }
    }
    let response = tokio::select! {
        _ = token.cancelled() => {
            ingest.abort().await;
            return Attempt::Cancelled;
        }
        response = request.send() => response,
    };
    let response = match response {
        Ok(response) => response,
        Err(SendError::Refused(refused)) => {
            ingest.abort().await;
            return Attempt::Refused(refused);
        }
        Err(error) => {
            let error = format!("{}: {error}", target.url);
            return Attempt::Transient(error, None, Some(ingest));
        }
    };
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED && target.unless.is_some() {
        ingest.abort().await;
        return Attempt::NotModified;
    }
    let marks = marks_of(response.headers());
    let total = match status {
        StatusCode::PARTIAL_CONTENT if resume => {
            match content_range(response.headers()) {
                Some((start, total)) if start == have => total,
                // Not the range asked for: start over on the next try.
                _ => {
                    drop(response);
                    return match start_over(ingest, partial, progress).await {
                        Ok(emptied) => Attempt::Transient(
                            format!("{} answered a different range", target.url),
                            Some(Duration::ZERO),
                            Some(emptied),
                        ),
                        Err(error) => Attempt::Fatal(error),
                    };
                }
            }
        }
        StatusCode::OK => {
            // The whole file: the upstream changed or ignores ranges.
            if ingest.bytes() > 0 {
                ingest = match start_over(ingest, partial, progress).await {
                    Ok(ingest) => ingest,
                    Err(error) => return Attempt::Fatal(error),
                };
            }
            progress
                .set_validator(validator_of(response.headers()))
                .await;
            response.content_length()
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            drop(response);
            return match start_over(ingest, partial, progress).await {
                Ok(emptied) => Attempt::Transient(
                    format!("{} refused the range from byte {have}", target.url),
                    Some(Duration::ZERO),
                    Some(emptied),
                ),
                Err(error) => Attempt::Fatal(error),
            };
        }
        status if retry::is_transient(status) => {
            let asked = retry::retry_after(response.headers());
            return Attempt::Transient(
                format!("HTTP {} from {}", status.as_u16(), target.url),
                asked,
                Some(ingest),
            );
        }
        status => {
            ingest.abort().await;
            return Attempt::Fatal(format!("HTTP {} from {}", status.as_u16(), target.url));
        }
    };
    let total = total.or(target.size);
    if let Some(total) = total {
        if let Err(NoRoom(why)) = room.ensure(total).await {
            ingest.abort().await;
            return Attempt::NoRoom(why);
        }
    }
    progress.responded(ingest.bytes(), total);
    progress.report(ingest.bytes(), total).await;
    let mut body = response.bytes_stream();
    let mut ticker = tokio::time::interval(super::progress::EVERY);
    loop {
        let next = tokio::select! {
            _ = token.cancelled() => {
                ingest.abort().await;
                return Attempt::Cancelled;
            }
            _ = ticker.tick() => {
                progress.report(ingest.bytes(), total).await;
                continue;
            }
            next = tokio::time::timeout(IDLE_TIMEOUT, body.next()) => next,
        };
        let chunk: Bytes = match next {
            Ok(Some(Ok(chunk))) => chunk,
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                return Attempt::Transient(describe(&target.url, &error), None, Some(ingest));
            }
            Err(_) => {
                return Attempt::Transient(
                    format!(
                        "{} sent nothing for {} s",
                        target.url,
                        IDLE_TIMEOUT.as_secs()
                    ),
                    None,
                    Some(ingest),
                );
            }
        };
        core.metrics.add_downloaded(chunk.len() as u64);
        if let Err(error) = ingest.write(chunk).await {
            return Attempt::Fatal(format!("cannot write {}: {error}", partial.display()));
        }
        progress.written(ingest.bytes());
        if let Err(NoRoom(why)) = room.grown(ingest.bytes()).await {
            ingest.abort().await;
            return Attempt::NoRoom(why);
        }
    }
    let received = ingest.bytes();
    if total.is_some_and(|total| received < total) {
        return Attempt::Transient(
            format!(
                "{} ended after {received} of {} bytes",
                target.url,
                total.unwrap_or_default()
            ),
            None,
            Some(ingest),
        );
    }
    match ingest.finish().await {
        Ok(staged) => {
            progress.report(staged.bytes, Some(staged.bytes)).await;
            Attempt::Done(staged, marks)
        }
        Err(error) => Attempt::Fatal(format!("cannot write {}: {error}", partial.display())),
    }
}

/// Empties the partial file and opens it again.
async fn start_over(ingest: Ingest, partial: &Path, progress: &Progress) -> Result<Ingest, String> {
    ingest.abort().await;
    progress.restarted();
    let path = partial.to_owned();
    let truncated = tokio::task::spawn_blocking(move || {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|file| file.set_len(0))
    })
    .await;
    match truncated {
        Ok(Ok(())) => {}
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => {}
        Ok(Err(error)) => return Err(format!("cannot empty {}: {error}", partial.display())),
        Err(error) => return Err(error.to_string()),
    }
    Ingest::resume(partial)
        .await
        .map_err(|error| format!("cannot write {}: {error}", partial.display()))
}

/// A strong ETag, else Last-Modified: what `If-Range` may carry.
/// The validators an answer carried, for the next Update to ask with.
fn marks_of(headers: &HeaderMap) -> UpstreamMarks {
    let text = |name| {
        headers
            .get(name)
            .and_then(|value: &header::HeaderValue| value.to_str().ok())
            .map(str::to_owned)
    };
    UpstreamMarks {
        etag: text(header::ETAG),
        last_modified: text(header::LAST_MODIFIED),
        digest: None,
    }
}

fn validator_of(headers: &HeaderMap) -> Option<String> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    text(header::ETAG)
        .filter(|etag| !etag.starts_with("W/"))
        .or_else(|| text(header::LAST_MODIFIED))
        .map(str::to_owned)
}

/// `Content-Range: bytes <start>-<end>/<total|*>` as `(start, total)`.
fn content_range(headers: &HeaderMap) -> Option<(u64, Option<u64>)> {
    let text = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let rest = text.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let start = range.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

/// reqwest's message with its causes (refused, reset, DNS).
fn describe(url: &str, error: &reqwest::Error) -> String {
    format!("{url}: {}", outbound::with_causes(error))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn content_ranges_are_read_with_or_without_a_total() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes 100-199/200"),
        );
        assert_eq!(content_range(&headers), Some((100, Some(200))));
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes 5-9/*"),
        );
        assert_eq!(content_range(&headers), Some((5, None)));
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("items 1-2/3"),
        );
        assert_eq!(content_range(&headers), None);
    }

    #[test]
    fn a_strong_etag_is_preferred_and_a_weak_one_is_not_used() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LAST_MODIFIED,
            HeaderValue::from_static("Tue, 01 Jan 2030 00:00:00 GMT"),
        );
        headers.insert(header::ETAG, HeaderValue::from_static("W/\"weak\""));
        assert_eq!(
            validator_of(&headers).as_deref(),
            Some("Tue, 01 Jan 2030 00:00:00 GMT")
        );
        headers.insert(header::ETAG, HeaderValue::from_static("\"strong\""));
        assert_eq!(validator_of(&headers).as_deref(), Some("\"strong\""));
    }
}
