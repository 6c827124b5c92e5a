//! The cache's quota (`BTY_CACHE_MAX_BYTES`): a download that cannot fit
//! fails with the reason and leaves nothing in the cache.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::upstream_files::{content, FileUpstream};

#[tokio::test]
async fn a_download_larger_than_the_quota_fails_with_the_reason_and_leaves_nothing() {
    let upstream = FileUpstream::start(content(300_000, 21)).await;
    let mut app = spawn_app_with(|s| {
        s.cache_max_bytes = Some(200_000);
        s.cache_min_free_bytes = 0;
    })
    .await;
    app.login().await;
    let name = add_url(&app, &upstream.url("/big.img")).await;
    let (status, _) = fetch(&app, json!({"name": name})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let failed = wait_for(&app, &name, "failed").await;
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("not enough room in the download cache for 'big.img'")
            && error.contains("BTY_CACHE_MAX_BYTES"),
        "{failed}"
    );
    assert!(cache_files(&app).is_empty(), "{:?}", cache_files(&app));
    let row = app.catalog_row(&name).await.expect("row");
    assert!(!row.cached);
    let events = app.events_of_kind("catalog.download.failed").await;
    assert_eq!(events.len(), 1);
    assert!(events[0]["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("not enough room"));
}
