//! The cache's quota (`BTY_CACHE_MAX_BYTES`): a download that cannot fit
//! fails with the reason and leaves nothing in the cache.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::raw_request;
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

#[tokio::test]
async fn a_fourth_download_evicts_the_least_recently_used_image_not_a_pinned_one() {
    let files: Vec<Vec<u8>> = (0..4).map(|seed| content(100_000, 30 + seed)).collect();
    let mut upstreams = Vec::new();
    for bytes in &files {
        upstreams.push(FileUpstream::start(bytes.clone()).await);
    }
    let mut app = spawn_app_with(|s| {
        s.cache_max_bytes = Some(350_000);
        s.cache_min_free_bytes = 0;
    })
    .await;
    app.login().await;
    let mut names = Vec::new();
    for (i, upstream) in upstreams.iter().enumerate() {
        names.push(add_url(&app, &upstream.url(&format!("/img{i}.img"))).await);
    }
    for name in &names[..3] {
        fetch(&app, json!({"name": name})).await;
        wait_for(&app, name, "completed").await;
    }
    let sha = |i: usize| crate::helpers::sha256_hex(&files[i]);
    // img0 is read by a client (used last); img1 is pinned: img2 must go.
    let response = app.get(&format!("/images/{}", sha(0))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.expect("body").len(), 100_000);
    let (status, body) = raw_request(
        &app,
        "PUT",
        &format!("/catalog/cache/{}/pin", names[1]),
        b"",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    fetch(&app, json!({"name": names[3]})).await;
    wait_for(&app, &names[3], "completed").await;
    let mut expected = vec![sha(0), sha(1), sha(3)];
    expected.sort();
    let mut held = cache_files(&app);
    held.sort();
    assert_eq!(held, expected);
    let evicted = app.events_of_kind("catalog.cache.evicted").await;
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    let details = &evicted[0]["details"];
    assert_eq!(details["reason"], "quota", "{details}");
    assert!(evicted[0].to_string().contains(&names[2]), "{}", evicted[0]);
    assert!(!app.catalog_row(&names[2]).await.expect("row kept").cached);
}
