//! The cache's quota (`BTY_CACHE_MAX_BYTES`) and free-space floor
//! (`BTY_CACHE_MIN_FREE_BYTES`): a download that cannot fit fails before
//! fetching, with the reason, and leaves nothing in the cache; to make
//! room the least recently used image goes, never a pinned one nor one a
//! client is reading; a restart keeps the figures and the order.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::{raw_request, restart_with, TestApp};
use crate::upstream_files::{content, FileUpstream};

/// Each of `files` served by an upstream of its own and added by URL as
/// `<stem><i>.img`; the upstreams live as long as the returned vector.
async fn add_each(
    app: &TestApp,
    files: &[Vec<u8>],
    stem: &str,
) -> (Vec<FileUpstream>, Vec<String>) {
    let mut upstreams = Vec::new();
    let mut names = Vec::new();
    for (i, bytes) in files.iter().enumerate() {
        let upstream = FileUpstream::start(bytes.clone()).await;
        names.push(add_url(app, &upstream.url(&format!("/{stem}{i}.img"))).await);
        upstreams.push(upstream);
    }
    (upstreams, names)
}

/// Downloads each of `names`, one after the other.
async fn download_each(app: &TestApp, names: &[String]) {
    for name in names {
        fetch(app, json!({"name": name})).await;
        wait_for(app, name, "completed").await;
    }
}

/// The one `catalog.cache.evicted` event so far, which names `name`.
async fn the_one_eviction(app: &TestApp, name: &str) -> serde_json::Value {
    let evicted = app.events_of_kind("catalog.cache.evicted").await;
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    assert!(evicted[0].to_string().contains(name), "{}", evicted[0]);
    evicted[0].clone()
}

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
    assert_eq!(
        app.catalog_row(&name).await.expect("row").size_bytes,
        Some(300_000),
        "the add's HEAD told the size"
    );
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
    assert!(upstream.gets().is_empty(), "refused before fetching");
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
    let mut app = spawn_app_with(|s| {
        s.cache_max_bytes = Some(350_000);
        s.cache_min_free_bytes = 0;
    })
    .await;
    app.login().await;
    let (_upstreams, names) = add_each(&app, &files, "img").await;
    download_each(&app, &names[..3]).await;
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
    let evicted = the_one_eviction(&app, &names[2]).await;
    let details = &evicted["details"];
    assert_eq!(details["reason"], "quota", "{details}");
    assert!(!app.catalog_row(&names[2]).await.expect("row kept").cached);
}

#[tokio::test]
async fn a_download_past_the_free_space_floor_fails_before_fetching() {
    let upstream = FileUpstream::start(content(100_000, 22)).await;
    // More free space than any disk has: the floor cannot be kept.
    let mut app = spawn_app_with(|s| s.cache_min_free_bytes = 1 << 60).await;
    app.login().await;
    let name = add_url(&app, &upstream.url("/floor.img")).await;
    fetch(&app, json!({"name": name})).await;
    let failed = wait_for(&app, &name, "failed").await;
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("not enough room in the download cache for 'floor.img'")
            && error.contains("BTY_CACHE_MIN_FREE_BYTES keeps 1.0 EiB")
            && error.contains("files outside the cache"),
        "{failed}"
    );
    assert!(upstream.gets().is_empty(), "refused before fetching");
    assert!(cache_files(&app).is_empty(), "{:?}", cache_files(&app));
    assert!(app.events_of_kind("catalog.cache.evicted").await.is_empty());
}

/// Opens `GET path` and reads only its head and first bytes, as a flash
/// client writing slowly to its disk would: the server is still sending
/// when this returns, and until the socket is dropped.
async fn slow_reader(app: &TestApp, path: &str) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let head = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    socket.write_all(head.as_bytes()).await.expect("write head");
    let mut first = vec![0u8; 64 * 1024];
    let read = socket.read(&mut first).await.expect("read");
    let text = String::from_utf8_lossy(&first[..read]).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    socket
}

#[tokio::test]
async fn an_image_a_slow_client_is_reading_is_not_evicted_though_least_recently_used() {
    // Larger than every socket buffer between the client and the server,
    // so the server is still sending while the fourth download runs.
    const SIZE: usize = 32 << 20;
    let files: Vec<Vec<u8>> = (0..4).map(|seed| content(SIZE, 40 + seed)).collect();
    let mut app = spawn_app_with(|s| {
        s.cache_max_bytes = Some(3 * SIZE as u64 + (SIZE as u64) / 2);
        s.cache_min_free_bytes = 0;
    })
    .await;
    app.login().await;
    let (_upstreams, names) = add_each(&app, &files, "big").await;
    download_each(&app, &names[..3]).await;
    let sha = |i: usize| crate::helpers::sha256_hex(&files[i]);
    // Uses recorded: img0, then img2; img1 is pinned. By its last use
    // img0 is the one to go, but a client starts reading it again (within
    // the minute, so that use is not written again) and is still reading.
    for i in [0, 2] {
        let response = app.get(&format!("/images/{}", sha(i))).await;
        assert_eq!(response.bytes().await.expect("body").len(), SIZE);
    }
    let (status, body) = raw_request(
        &app,
        "PUT",
        &format!("/catalog/cache/{}/pin", names[1]),
        b"",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let reader = slow_reader(&app, &format!("/images/{}", sha(0))).await;

    fetch(&app, json!({"name": names[3]})).await;
    wait_for(&app, &names[3], "completed").await;
    let mut expected = vec![sha(0), sha(1), sha(3)];
    expected.sort();
    assert_eq!(cache_files(&app), expected);
    let evicted = the_one_eviction(&app, &names[2]).await;
    assert_eq!(
        evicted["details"]["bytes_freed"], SIZE as u64,
        "{}",
        evicted
    );

    // The slow client gets every byte of what it started reading.
    let mut reader = reader;
    let mut rest = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut rest)
        .await
        .expect("the rest");
    assert!(rest.len() > SIZE / 2, "{} more bytes", rest.len());
}

#[tokio::test]
async fn a_restart_keeps_the_usage_and_the_order_of_last_use() {
    let files: Vec<Vec<u8>> = (0..3).map(|seed| content(100_000, 50 + seed)).collect();
    let limits = |s: &mut server::settings::Settings| {
        s.cache_max_bytes = Some(250_000);
        s.cache_min_free_bytes = 0;
    };
    let mut app = spawn_app_with(limits).await;
    app.login().await;
    let (_upstreams, names) = add_each(&app, &files, "r").await;
    download_each(&app, &names[..2]).await;
    let sha = |i: usize| crate::helpers::sha256_hex(&files[i]);
    // r0 was downloaded first but read last.
    let response = app.get(&format!("/images/{}", sha(0))).await;
    assert_eq!(response.bytes().await.expect("body").len(), 100_000);
    let before = list(&app).await["cache"].clone();
    assert_eq!(before["files"], 2, "{before}");
    // On disk: whole file-system blocks.
    let bytes = before["bytes"].as_u64().unwrap_or_default();
    assert!((200_000..=200_000 + 2 * 8192).contains(&bytes), "{before}");
    assert_eq!(before["quota_bytes"], 250_000, "{before}");

    let mut app = restart_with(app.stop().await, limits).await;
    app.login().await;
    let after = list(&app).await["cache"].clone();
    for field in ["files", "bytes", "quota_bytes"] {
        assert_eq!(after[field], before[field], "{field}: {after}");
    }
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(&format!("cache_bytes {bytes}\n")),
        "{}",
        metrics
            .lines()
            .filter(|line| line.contains("cache"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The last uses outlived the restart: r1 goes, not r0.
    fetch(&app, json!({"name": names[2]})).await;
    wait_for(&app, &names[2], "completed").await;
    let mut expected = vec![sha(0), sha(2)];
    expected.sort();
    assert_eq!(cache_files(&app), expected);
    the_one_eviction(&app, &names[1]).await;
}
