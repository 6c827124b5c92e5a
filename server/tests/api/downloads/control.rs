//! Controlling downloads and the cache: cancel, the parallelism limit,
//! evict then fetch, and updates of rolling entries.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::{
    helpers::{raw_request, sha256_hex, spawn_app_with},
    registry::{start_registry, ORAS_LAYER},
    upstream_files::{content, FileUpstream},
};

#[tokio::test]
async fn queued_and_running_downloads_can_be_cancelled() {
    let upstream = FileUpstream::start(content(8 * MIB, 10)).await;
    upstream.throttle(Some(Duration::from_millis(100)));
    let app = app_with(1).await;
    let first = add_url(&app, &upstream.url("/one.img")).await;
    let second = add_url(&app, &upstream.url("/two.img")).await;
    fetch(&app, json!({"name": first})).await;
    fetch(&app, json!({"name": second})).await;
    wait_for_progress(&app, &first).await;
    assert_eq!(state_of(&app, &second).await.unwrap()["status"], "queued");

    let response = app.delete(&format!("/catalog/downloads/{second}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "cancelled");

    let response = app.delete(&format!("/catalog/downloads/{first}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    wait_for(&app, &first, "cancelled").await;
    app.eventually(10, "the partial file to go", || async {
        cache_files(&app).is_empty().then_some(())
    })
    .await;
    let cancelled = app.events_of_kind("catalog.download.cancelled").await;
    assert_eq!(cancelled.len(), 2);
    assert_eq!(cancelled[0]["actor"], "admin");

    let response = app.delete("/catalog/downloads/nothing.img").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["detail"], "no active download named 'nothing.img'");
}

#[tokio::test]
async fn no_more_than_max_parallel_downloads_run_at_once() {
    let upstream = FileUpstream::start(content(2 * MIB, 11)).await;
    upstream.throttle(Some(Duration::from_millis(60)));
    let app = app_with(2).await;
    let mut names = Vec::new();
    for path in ["/a.img", "/b.img", "/c.img"] {
        let name = add_url(&app, &upstream.url(path)).await;
        fetch(&app, json!({"name": name})).await;
        names.push(name);
    }
    wait_for_progress(&app, &names[0]).await;
    wait_for_progress(&app, &names[1]).await;
    let mut saw_three = false;
    loop {
        let listing = list(&app).await;
        let statuses: Vec<&str> = listing["downloads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["status"].as_str().unwrap())
            .collect();
        let running = statuses.iter().filter(|s| **s == "running").count();
        assert!(running <= 2, "{statuses:?}");
        saw_three |= statuses == ["completed", "completed", "completed"];
        if saw_three || statuses.iter().filter(|s| **s == "completed").count() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn evict_keeps_the_row_and_a_following_fetch_downloads_again() {
    let bytes = content(100_000, 12);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(2).await;
    add_pinned(&app, "evict.img", &upstream.url("/evict.img"), &sha).await;
    fetch(&app, json!({"name": "evict.img"})).await;
    wait_for(&app, "evict.img", "completed").await;

    let response = app.delete("/catalog/cache/evict.img").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({"name": "evict.img", "deleted": true, "disk_image_sha": sha})
    );
    assert!(cache_files(&app).is_empty());
    let row = app.catalog_row("evict.img").await.expect("row kept");
    assert_eq!(row.sha256.as_deref(), Some(sha.as_str()));
    assert!(!row.cached);
    assert_eq!(app.events_of_kind("catalog.cache.deleted").await.len(), 1);

    let body: Value = app
        .delete("/catalog/cache/evict.img")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["reason"], "not cached");
    let (status, body) = raw_request(&app, "DELETE", "/catalog/cache/%2E%2E", b"").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid name"), "{body}");

    let (status, state) = fetch(&app, json!({"name": row.image_ref})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(state["status"], "queued", "D3: not the stale completed job");
    wait_for(&app, "evict.img", "completed").await;
    assert_eq!(cached(&app, &sha).as_deref(), Some(&bytes[..]));
    assert_eq!(upstream.gets().len(), 2);
}

#[tokio::test]
async fn an_update_of_a_rolling_entry_downloads_new_content_and_drops_the_old() {
    let old = content(150_000, 13);
    let new = content(160_000, 14);
    let upstream = FileUpstream::start(old.clone()).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/nightly.img")).await;
    fetch(&app, json!({"name": name})).await;
    wait_for(&app, &name, "completed").await;

    // Unchanged upstream: the update asks first (If-None-Match with the
    // ETag of the last download), is told 304, says so and keeps the file.
    let (status, _) = fetch(&app, json!({"name": name, "update": true})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let unchanged = app
        .eventually(30, "the first update", || async {
            let events = app.events_of_kind("catalog.update.unchanged").await;
            (events.len() == 1).then(|| events[0].clone())
        })
        .await;
    assert_eq!(unchanged["details"]["sha256"], sha256_hex(&old));
    assert_eq!(unchanged["details"]["how"], "not modified");
    assert_eq!(
        app.events_of_kind("catalog.download.completed").await.len(),
        1,
        "an unchanged update is not a download"
    );
    assert!(cached(&app, &sha256_hex(&old)).is_some());
    assert_eq!(cache_files(&app), [sha256_hex(&old)]);
    let gets = upstream.gets();
    assert_eq!(gets.len(), 2, "one download, one question: {gets:?}");
    assert_eq!(gets[0].if_none_match, None);
    assert_eq!(gets[1].if_none_match.as_deref(), Some("\"v1\""));

    upstream.set_content(new.clone());
    fetch(&app, json!({"name": name, "update": true})).await;
    let changed = app
        .eventually(30, "the second update", || async {
            let events = app.events_of_kind("catalog.download.completed").await;
            (events.len() == 2).then(|| events[0].clone())
        })
        .await;
    assert_eq!(changed["details"]["changed"], true);
    assert_eq!(changed["details"]["previous_sha256"], sha256_hex(&old));
    assert_eq!(cache_files(&app), [sha256_hex(&new)]);
    let row = app.catalog_row(&name).await.expect("row");
    assert_eq!(row.sha256, Some(sha256_hex(&new)));

    // A pinned entry cannot be updated.
    add_pinned(
        &app,
        "fixed.img",
        &upstream.url("/fixed.img"),
        &sha256_hex(&new),
    )
    .await;
    let (status, body) = fetch(&app, json!({"name": "fixed.img", "update": true})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("pinned"));
}

#[tokio::test]
async fn the_cache_usage_grows_live_while_a_download_runs() {
    // 4 MiB at 64 KiB per 50 ms: about 3 s, long enough for a usage update
    // that counts the partial file before the download completes.
    let upstream = FileUpstream::start(content(4 * MIB, 12)).await;
    upstream.throttle(Some(Duration::from_millis(50)));
    let app = app_with(1).await;
    let name = add_url(&app, &upstream.url("/growing.img")).await;
    let mut stream = app.live().await;
    fetch(&app, json!({"name": name})).await;
    let usage = stream
        .wait_for("a cache usage update during the download", |event, data| {
            (event == "cache")
                .then(|| serde_json::from_str::<app::model::CacheUsage>(data).expect("JSON"))
                .filter(|usage| usage.bytes > 0)
        })
        .await;
    assert_eq!(
        usage.files, 0,
        "counted as a cached image before it completed"
    );
    assert_eq!(
        state_of(&app, &name).await.expect("its state")["status"],
        "running"
    );
    wait_for(&app, &name, "completed").await;
    let listed = list(&app).await;
    assert_eq!(listed["cache"]["files"], 1);
    assert!(listed["cache"]["bytes"].as_u64().unwrap_or_default() >= 4 * MIB as u64);
}

#[tokio::test]
async fn an_operator_pins_and_unpins_an_entry_in_the_cache_and_it_is_audited() {
    let upstream = FileUpstream::start(content(10_000, 15)).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/keep.img")).await;
    assert!(!app.catalog_row(&name).await.expect("row").keep_cached);

    let (status, body) = raw_request(&app, "PUT", &format!("/catalog/cache/{name}/pin"), b"").await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["name"], name.as_str());
    assert_eq!(body["keep_cached"], true);
    assert!(app.catalog_row(&name).await.expect("row").keep_cached);
    let entries: Value = app
        .get("/catalog/entries")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(entries[0]["keep_cached"], true, "{entries}");
    let pinned = app.events_of_kind("catalog.cache.pinned").await;
    assert_eq!(pinned.len(), 1);
    assert_eq!(pinned[0]["actor"], "admin");
    assert_eq!(pinned[0]["subject_id"], name.as_str());
    // Pinning again changes nothing and records nothing.
    let (status, _) = raw_request(&app, "PUT", &format!("/catalog/cache/{name}/pin"), b"").await;
    assert_eq!(status, 200);
    assert_eq!(app.events_of_kind("catalog.cache.pinned").await.len(), 1);

    let response = app.delete(&format!("/catalog/cache/{name}/pin")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["keep_cached"], false);
    assert!(!app.catalog_row(&name).await.expect("row").keep_cached);
    assert_eq!(app.events_of_kind("catalog.cache.unpinned").await.len(), 1);

    let (status, body) = raw_request(&app, "PUT", "/catalog/cache/nothing.img/pin", b"").await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("no catalog entry named 'nothing.img'"),
        "{body}"
    );
    let (status, body) = raw_request(&app, "PUT", "/catalog/cache/%2E%2E/pin", b"").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid name"), "{body}");
}

#[tokio::test]
async fn an_update_of_an_oras_tag_asks_the_registry_for_its_manifest_digest_first() {
    let registry = start_registry().await;
    let pushed = registry.push_disk_image("nosi/nightly", "latest").await;
    let host = registry.host.clone();
    let mut app = spawn_app_with(move |s| s.oras_insecure_registries = vec![host]).await;
    app.login().await;
    let name = add_url(&app, &registry.oras("nosi/nightly:latest")).await;
    fetch(&app, json!({"name": name})).await;
    wait_for(&app, &name, "completed").await;
    let blob_gets =
        |digest: &str| registry.requests("GET", &format!("/v2/nosi/nightly/blobs/{digest}"));
    assert_eq!(blob_gets(&pushed.disk.digest), 1);

    // The tag still names the same manifest: no blob is pulled again.
    fetch(&app, json!({"name": name, "update": true})).await;
    let unchanged = app
        .eventually(30, "the first update", || async {
            let events = app.events_of_kind("catalog.update.unchanged").await;
            (events.len() == 1).then(|| events[0].clone())
        })
        .await;
    assert_eq!(
        unchanged["details"]["how"], "manifest digest",
        "{unchanged}"
    );
    assert_eq!(unchanged["details"]["sha256"], pushed.disk.hex());
    assert_eq!(blob_gets(&pushed.disk.digest), 1, "not pulled again");
    assert_eq!(
        registry.requests("HEAD", "/v2/nosi/nightly/manifests/latest"),
        1,
        "asked with a HEAD, which registries do not count as a pull"
    );
    assert_eq!(cache_files(&app), [pushed.disk.hex()]);

    // A new push under the tag: the update downloads it and drops the old.
    let disk = registry
        .push_blob("nosi/nightly", b"a newer disk image")
        .await;
    registry
        .push_artifact(
            "nosi/nightly",
            "latest",
            vec![disk.layer(ORAS_LAYER, Some("debian.img.gz"))],
        )
        .await;
    fetch(&app, json!({"name": name, "update": true})).await;
    app.eventually(30, "the second update", || async {
        let events = app.events_of_kind("catalog.download.completed").await;
        (events.len() == 2).then_some(())
    })
    .await;
    assert_eq!(blob_gets(&disk.digest), 1);
    assert_eq!(cache_files(&app), [disk.hex()]);
}
