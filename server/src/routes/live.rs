//! `GET /events/live`: the authenticated server-sent event stream behind
//! every live part of the UI. A snapshot first, then job progress, catalog
//! changes and new audit events as they happen (made here or on another
//! replica); a fresh snapshot to a client that fell behind, or when changes
//! elsewhere may have been missed; a keep-alive comment every 15 seconds.

use std::{convert::Infallible, time::Duration};

use app::model::{live_event, CatalogPage, LiveSnapshot};
use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::{error::RecvError, Receiver};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Operator,
    error::{ApiError, ErrorBody},
    live::{self, LiveMessage},
    pages,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_live))
}

/// The live stream.
///
/// Each SSE event's `data` is JSON: `snapshot` a `LiveSnapshot` (first, and
/// again after a client fell behind), `job` a `Job`, `catalog` a
/// `CatalogPage` (the first unfiltered page), `event` an `Event`, `cache` a
/// `CacheUsage`.
#[utoipa::path(
    get,
    path = "/events/live",
    tag = "events",
    responses(
        (status = 200, description = "`text/event-stream`: `snapshot`, `job`, `catalog`, `event` \
            and `cache` events, JSON data; a keep-alive comment every 15 s",
            content_type = "text/event-stream", body = String),
        (status = 401, description = "Login required", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn stream_live(
    _operator: Operator,
    State(state): State<AppState>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before taking the snapshot, so nothing falls between them.
    let receiver = state.live.subscribe();
    let first = snapshot_event(&state).await?;
    let shutdown = state.shutdown.clone().cancelled_owned();
    let stream = futures::stream::unfold((state, receiver, Some(first)), next_event)
        .map(Ok)
        .take_until(shutdown);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

type StreamState = (AppState, Receiver<LiveMessage>, Option<Event>);

async fn next_event((state, mut receiver, pending): StreamState) -> Option<(Event, StreamState)> {
    if let Some(event) = pending {
        return Some((event, (state, receiver, None)));
    }
    loop {
        match receiver.recv().await {
            Ok(message) if message.event != live::RESYNC => {
                let event = Event::default().event(message.event).data(&*message.data);
                return Some((event, (state, receiver, None)));
            }
            Ok(_) => {
                tracing::debug!("changes elsewhere may have been missed; sending a snapshot");
                match snapshot_event(&state).await {
                    Ok(event) => return Some((event, (state, receiver, None))),
                    Err(error) => tracing::warn!(%error, "snapshot after a resync failed"),
                }
            }
            Err(RecvError::Lagged(skipped)) => {
                tracing::debug!(skipped, "live client fell behind; sending a snapshot");
                match snapshot_event(&state).await {
                    Ok(event) => return Some((event, (state, receiver, None))),
                    Err(error) => tracing::warn!(%error, "snapshot for a lagging client failed"),
                }
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

async fn snapshot_event(state: &AppState) -> Result<Event, ApiError> {
    let snapshot = LiveSnapshot {
        jobs: pages::live_jobs(state).await?,
        catalog: CatalogPage::of(&*state.catalog.view().await?, "", 1),
        cache: Some(state.cache.usage().await),
    };
    let data = serde_json::to_string(&snapshot).map_err(anyhow::Error::from)?;
    Ok(Event::default().event(live_event::SNAPSHOT).data(data))
}
