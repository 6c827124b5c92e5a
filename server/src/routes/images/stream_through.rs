//! Stream-through (D13, done right): `GET /images/{key}` of a remote entry
//! that is not cached starts its download at once, or joins the one
//! running, and sends the partial file as it grows, so the client gets its
//! bytes while the cache fills, with one upstream transfer however many
//! clients ask. The last byte is held back until the download is verified;
//! if the transfer starts over or fails, the body breaks off, so a client
//! never receives wrong bytes as a complete answer. `HEAD` answers from
//! the row's metadata and never touches the upstream.

use std::{io, path::PathBuf, time::Duration};

use axum::{
    body::Body,
    http::{header, Method, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use tokio::{io::AsyncReadExt, sync::watch};

use super::serve::{content_type_for, insert};
use crate::{
    cache::{ReadGuard, ReadKey},
    db::entity::catalog_entry,
    error::ApiError,
    state::AppState,
    workers::downloads::{
        fill::{Fill, Finished},
        DownloadError,
    },
};

/// Bytes per body chunk.
const CHUNK: u64 = 256 * 1024;
/// A fill that makes no progress for this long breaks the body off.
const STALL: Duration = Duration::from_secs(120);

/// The answer for an uncached remote entry; `None` when its bytes turned
/// out to be cached already.
pub async fn respond(
    state: &AppState,
    entry: &catalog_entry::Model,
    method: &Method,
) -> Result<Option<Response>, ApiError> {
    if method == Method::HEAD {
        return Ok(Some(head(entry)));
    }
    let followed = state
        .downloads
        .follow(entry)
        .await
        .map_err(|error| match error {
            DownloadError::Db(db) => db.into(),
            other => ApiError::NotFound(other.to_string()),
        })?;
    let Some((mut receiver, partial)) = followed else {
        return Ok(None);
    };
    let fill = wait_until_responded(&mut receiver).await?;
    match &fill.outcome {
        Some(Finished::Completed) if !fill.responded => return Ok(None),
        Some(Finished::Failed(error)) if !fill.responded => {
            return Err(ApiError::BadGateway(format!(
                "could not fetch '{}': {error}",
                entry.name
            )))
        }
        _ => {}
    }
    let file = match tokio::fs::File::open(&partial).await {
        Ok(file) => file,
        // Renamed into the cache already: serve it from there.
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    // Being read: the quota does not evict it, and it was used now.
    let reading = ReadKey::Source(entry.src.clone());
    state.quota.record_use(reading.clone()).await;
    let tail = Tail {
        file,
        receiver,
        sent: 0,
        generation: fill.generation,
        partial,
        _reading: state.cache.readers().open(reading),
    };
    let mut response = (StatusCode::OK, Body::from_stream(tail.stream())).into_response();
    insert(
        &mut response,
        header::CONTENT_TYPE,
        content_type_for(&entry.name),
    );
    if let Some(total) = fill.total {
        insert(&mut response, header::CONTENT_LENGTH, &total.to_string());
    }
    if let Some(etag) = pinned_etag(entry) {
        insert(&mut response, header::ETAG, &etag);
    }
    Ok(Some(response))
}

/// `HEAD` of an uncached entry: what the catalog knows, nothing fetched.
fn head(entry: &catalog_entry::Model) -> Response {
    // A body of unknown length, so the Content-Length set here stands.
    let nothing = futures::stream::empty::<io::Result<Bytes>>();
    let mut response = (StatusCode::OK, Body::from_stream(nothing)).into_response();
    insert(
        &mut response,
        header::CONTENT_TYPE,
        content_type_for(&entry.name),
    );
    if let Some(size) = entry.size_bytes.filter(|size| *size >= 0) {
        insert(&mut response, header::CONTENT_LENGTH, &size.to_string());
    }
    if let Some(sha) = &entry.disk_image_sha {
        insert(&mut response, header::ETAG, &format!("\"{sha}\""));
    }
    response
}

/// A sha the bytes are checked against before the last byte goes out.
fn pinned_etag(entry: &catalog_entry::Model) -> Option<String> {
    entry
        .disk_image_sha
        .as_ref()
        .filter(|_| !entry.sha_observed)
        .map(|sha| format!("\"{sha}\""))
}

async fn wait_until_responded(receiver: &mut watch::Receiver<Fill>) -> Result<Fill, ApiError> {
    loop {
        let fill = receiver.borrow_and_update().clone();
        if fill.responded || fill.outcome.is_some() {
            return Ok(fill);
        }
        match tokio::time::timeout(STALL, receiver.changed()).await {
            Ok(Ok(())) => {}
            _ => return Err(ApiError::BadGateway("the upstream did not answer".into())),
        }
    }
}

/// A reader of a growing partial file.
struct Tail {
    file: tokio::fs::File,
    receiver: watch::Receiver<Fill>,
    sent: u64,
    generation: u32,
    partial: PathBuf,
    /// Counted as a reader until the body is dropped.
    _reading: ReadGuard,
}

impl Tail {
    fn stream(self) -> impl futures::Stream<Item = io::Result<Bytes>> + Send {
        futures::stream::unfold(Some(self), |tail| async move {
            let mut tail = tail?;
            match tail.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(tail))),
                Ok(None) => None,
                Err(error) => {
                    tracing::warn!(%error, partial = %tail.partial.display(), "stream-through broken off");
                    Some((Err(error), None))
                }
            }
        })
    }

    async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            let fill = self.receiver.borrow_and_update().clone();
            if fill.generation != self.generation {
                return Err(io::Error::other("the upstream transfer started over"));
            }
            if let Some(Finished::Failed(error)) = &fill.outcome {
                return Err(io::Error::other(error.clone()));
            }
            let complete = fill.outcome == Some(Finished::Completed);
            // The last byte waits for the verdict on the whole.
            let available = match fill.total {
                Some(total) if !complete => fill.written.min(total.saturating_sub(1)),
                _ => fill.written,
            };
            if self.sent < available {
                let want = (available - self.sent).min(CHUNK) as usize;
                let mut buffer = vec![0u8; want];
                let read = self.file.read(&mut buffer).await?;
                if read == 0 {
                    // The writer has not put it on disk yet.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                buffer.truncate(read);
                self.sent += read as u64;
                return Ok(Some(Bytes::from(buffer)));
            }
            if complete {
                return Ok(None);
            }
            match tokio::time::timeout(STALL, self.receiver.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(io::Error::other("the download ended unexpectedly")),
                Err(_) => return Err(io::Error::other("the download stalled")),
            }
        }
    }
}
