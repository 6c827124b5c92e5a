//! Downloads and the cache (reference sections 1.12 and 1.13, with the D3,
//! D4, D5, D6, D8, D9 and D21 fixes) against real upstreams on 127.0.0.1.

use std::time::Duration;

use reqwest::{multipart, StatusCode};
use serde_json::{json, Value};

use crate::{
    helpers::{raw_request, restart, sha256_hex, spawn_app_with, TestApp},
    registry::start_registry,
    upstream_files::{content, FileUpstream},
};

const MIB: usize = 1024 * 1024;

async fn app_with(max_parallel: u32) -> TestApp {
    let mut app = spawn_app_with(move |s| s.catalog_max_parallel = max_parallel).await;
    app.login().await;
    app
}

/// Adds `url` by URL (no sha: unpinned); returns the entry's name.
async fn add_url(app: &TestApp, url: &str) -> String {
    let response = app
        .post_json("/catalog/entries", &json!({"image_url": url}))
        .await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["name"].as_str().expect("name").to_owned()
}

/// Imports one pinned entry from an uploaded catalog.
async fn add_pinned(app: &TestApp, name: &str, url: &str, sha256: &str) {
    let toml = format!(
        "version = 1\n\n[[images]]\nname = \"{name}\"\nsrc = \"{url}\"\nsha256 = \"{sha256}\"\n"
    );
    upload_catalog(app, toml).await;
}

/// Uploads a catalog through the page's form.
async fn upload_catalog(app: &TestApp, toml: String) {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(toml.into_bytes()).file_name("catalog.toml"),
    );
    let response = app
        .client
        .post(app.url("/ui/catalog/upload"))
        .header(
            "cookie",
            format!("bty-token={}", app.cookie.clone().unwrap_or_default()),
        )
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap_or_default();
    assert!(!location.contains("error"), "{location}");
}

async fn fetch(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let response = app.post_json("/catalog/downloads", &body).await;
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

async fn list(app: &TestApp) -> Value {
    let response = app.get("/catalog/downloads").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

async fn state_of(app: &TestApp, name: &str) -> Option<Value> {
    list(app).await["downloads"]
        .as_array()
        .expect("downloads")
        .iter()
        .find(|d| d["name"] == name)
        .cloned()
}

/// Waits until the download of `name` is in `status`.
async fn wait_for(app: &TestApp, name: &str, status: &str) -> Value {
    app.eventually(60, &format!("{name} to be {status}"), || async {
        state_of(app, name).await.filter(|s| s["status"] == status)
    })
    .await
}

/// Waits until the download of `name` is running with some bytes done.
async fn wait_for_progress(app: &TestApp, name: &str) -> Value {
    app.eventually(30, &format!("{name} to make progress"), || async {
        state_of(app, name)
            .await
            .filter(|s| s["status"] == "running" && s["bytes_downloaded"].as_u64().unwrap_or(0) > 0)
    })
    .await
}

/// File names in the cache directory, sorted.
fn cache_files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.state.settings.cache_dir())
        .expect("cache dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn cached(app: &TestApp, sha: &str) -> Option<Vec<u8>> {
    std::fs::read(app.state.settings.cache_dir().join(sha)).ok()
}

async fn kinds_for(app: &TestApp, name: &str) -> Vec<String> {
    let body: Value = app
        .get(&format!("/events?subject_id={name}"))
        .await
        .json()
        .await
        .expect("events");
    let mut kinds: Vec<String> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    kinds.reverse();
    kinds
}

#[tokio::test]
async fn a_pinned_entry_is_downloaded_verified_and_cached_with_its_events() {
    let bytes = content(3 * MIB + 123, 1);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(2).await;
    add_pinned(&app, "pinned.img", &upstream.url("/pinned.img"), &sha).await;

    let (status, state) = fetch(&app, json!({"name": "pinned.img"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{state}");
    assert_eq!(state["src"], upstream.url("/pinned.img"));
    let done = wait_for(&app, "pinned.img", "completed").await;
    assert_eq!(done["sha256"], sha);
    assert_eq!(done["bytes_downloaded"], bytes.len());
    assert_eq!(done["attempt"], 1);
    assert_eq!(cached(&app, &sha).as_deref(), Some(&bytes[..]));
    assert_eq!(cache_files(&app), [sha.as_str()], "no partial left");

    let listing = list(&app).await;
    assert_eq!(listing["max_parallel"], 2);
    assert_eq!(listing["cache"]["files"], 1);
    assert!(listing["cache"]["bytes"].as_u64().unwrap() >= bytes.len() as u64);
    assert!(listing["cache"]["free_bytes"].as_u64().is_some());

    // A second Fetch finds it done while the bytes are cached.
    let (status, again) = fetch(&app, json!({"name": "pinned.img"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["status"], "completed");
    assert_eq!(upstream.gets().len(), 1);
    let row = app.catalog_row("pinned.img").await.expect("row");
    assert!(row.cached && !row.rolling);
    assert_eq!(
        kinds_for(&app, "pinned.img").await,
        [
            "catalog.download.requested",
            "catalog.download.started",
            "catalog.download.completed"
        ]
    );
}

#[tokio::test]
async fn an_unpinned_url_learns_its_sha_by_source_and_stays_rolling() {
    let bytes = content(200_000, 2);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/rolling.img")).await;
    let (status, _) = fetch(&app, json!({"name": name})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha);
    assert_eq!(cached(&app, &sha).as_deref(), Some(&bytes[..]));
    let row = app
        .eventually(10, "the sha on the row", || async {
            app.catalog_row(&name).await.filter(|r| r.sha256.is_some())
        })
        .await;
    assert_eq!(row.sha256.as_deref(), Some(sha.as_str()));
    assert!(row.cached && row.rolling);
    let populated = app.events_of_kind("catalog.cache.populated").await;
    assert_eq!(populated[0]["details"]["sha256"], sha);
    assert_eq!(populated[0]["details"]["src"], upstream.url("/rolling.img"));
}

#[tokio::test]
async fn a_sha_mismatch_fails_with_both_digests_and_leaves_no_file() {
    let bytes = content(100_000, 3);
    let actual = sha256_hex(&bytes);
    let wrong = "b".repeat(64);
    let upstream = FileUpstream::start(bytes).await;
    let app = app_with(2).await;
    add_pinned(&app, "bad.img", &upstream.url("/bad.img"), &wrong).await;
    fetch(&app, json!({"name": "bad.img"})).await;
    let failed = wait_for(&app, "bad.img", "failed").await;
    let error = failed["error"].as_str().expect("error");
    assert!(error.contains(&wrong) && error.contains(&actual), "{error}");
    assert!(cache_files(&app).is_empty(), "{:?}", cache_files(&app));
    let events = app.events_of_kind("catalog.download.failed").await;
    assert!(events[0]["details"]["error"]
        .as_str()
        .unwrap()
        .contains("mismatch"));
}

#[tokio::test]
async fn a_cut_connection_resumes_with_a_range_request() {
    let bytes = content(2 * MIB, 4);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/cut.img")).await;
    upstream.cut_once_after(MIB);
    fetch(&app, json!({"name": name})).await;
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha);
    assert_eq!(done["attempt"], 2);
    assert_eq!(cached(&app, &sha).as_deref(), Some(&bytes[..]));
    let gets = upstream.gets();
    assert_eq!(gets.len(), 2, "{gets:?}");
    let resumed = &gets[1];
    let from: u64 = resumed
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .expect("a Range request");
    assert!(from > 0 && from <= MIB as u64, "resumed from {from}");
    assert_eq!(resumed.if_range.as_deref(), Some("\"v1\""));
}

#[tokio::test]
async fn an_upstream_that_changed_or_refuses_ranges_is_downloaded_from_zero() {
    let first = content(MIB, 5);
    let second = content(MIB + 7, 6);
    let upstream = FileUpstream::start(first).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/changing.img")).await;
    // Cut, and the content changes before the resume: If-Range no longer
    // matches, the upstream answers 200, the file starts over.
    upstream.cut_once_after(300_000);
    upstream.throttle(Some(Duration::from_millis(20)));
    fetch(&app, json!({"name": name})).await;
    app.eventually(30, "the cut", || async {
        (!upstream.gets().is_empty()).then_some(())
    })
    .await;
    upstream.set_content(second.clone());
    upstream.throttle(None);
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha256_hex(&second));
    assert_eq!(
        cached(&app, &sha256_hex(&second)).as_deref(),
        Some(&second[..])
    );

    // An upstream without ranges: the retry asks for the rest and gets it all.
    let other = content(MIB, 7);
    let plain = FileUpstream::start(other.clone()).await;
    plain.refuse_ranges();
    plain.cut_once_after(400_000);
    let name = add_url(&app, &plain.url("/plain.img")).await;
    fetch(&app, json!({"name": name})).await;
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha256_hex(&other));
    assert_eq!(
        cached(&app, &sha256_hex(&other)).as_deref(),
        Some(&other[..])
    );
}

#[tokio::test]
async fn busy_answers_are_retried_and_other_errors_fail_at_once() {
    let bytes = content(50_000, 8);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/busy.img")).await;
    upstream.fail(StatusCode::SERVICE_UNAVAILABLE, 1);
    upstream.fail(StatusCode::TOO_MANY_REQUESTS, 1);
    fetch(&app, json!({"name": name})).await;
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["attempt"], 3);
    assert_eq!(done["sha256"], sha256_hex(&bytes));

    let gone = FileUpstream::start(bytes).await;
    let name = add_url(&app, &gone.url("/gone.img")).await;
    gone.fail(StatusCode::FORBIDDEN, 1);
    fetch(&app, json!({"name": name})).await;
    let failed = wait_for(&app, &name, "failed").await;
    assert!(
        failed["error"].as_str().unwrap().contains("HTTP 403"),
        "{failed}"
    );
    assert_eq!(failed["attempt"], 1);
}

#[tokio::test]
async fn a_restart_mid_download_resumes_from_the_partial_file() {
    let bytes = content(4 * MIB, 9);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/long.img")).await;
    upstream.throttle(Some(Duration::from_millis(50)));
    fetch(&app, json!({"name": name})).await;
    app.eventually(30, "a few chunks on disk", || async {
        let files = cache_files(&app);
        let partial = files.iter().find(|f| f.ends_with(".bty-partial"))?;
        let size = std::fs::metadata(app.state.settings.cache_dir().join(partial))
            .ok()?
            .len();
        (size >= 256 * 1024).then_some(())
    })
    .await;
    let stopped = app.stop().await;
    upstream.throttle(None);
    let mut app = restart(stopped).await;
    app.login().await;
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha);
    assert_eq!(cached(&app, &sha).as_deref(), Some(&bytes[..]));
    let gets = upstream.gets();
    let last = gets.last().expect("a GET after the restart");
    assert!(
        last.range.as_deref().is_some_and(|r| r != "bytes=0-"),
        "{gets:?}"
    );
    assert_eq!(cache_files(&app), [sha]);
}

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

    // Unchanged upstream: the update says so and keeps the file.
    let (status, _) = fetch(&app, json!({"name": name, "update": true})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let unchanged = app
        .eventually(30, "the first update", || async {
            let events = app.events_of_kind("catalog.download.completed").await;
            (events.len() == 2).then(|| events[0].clone())
        })
        .await;
    assert_eq!(unchanged["details"]["changed"], false);
    assert!(cached(&app, &sha256_hex(&old)).is_some());

    upstream.set_content(new.clone());
    fetch(&app, json!({"name": name, "update": true})).await;
    let changed = app
        .eventually(30, "the second update", || async {
            let events = app.events_of_kind("catalog.download.completed").await;
            (events.len() == 3).then(|| events[0].clone())
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
async fn names_are_checked_and_unknown_or_local_names_refused() {
    let app = app_with(2).await;
    for bad in [".", ".."] {
        let (status, body) = fetch(&app, json!({"name": bad})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, body) = fetch(&app, json!({"name": "a", "extra": 1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = fetch(&app, json!({"name": "nope.img"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "\"no catalog entry named 'nope.img'\"");
    app.write_image("local.img", b"local bytes");
    app.wait_until_hashed("local.img").await;
    let (status, body) = fetch(&app, json!({"name": "local.img"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["detail"].as_str().unwrap().contains("image root"));
    let listing = list(&app).await;
    assert_eq!(listing["manifest"], Value::Null);
    assert_eq!(listing["downloads"], json!([]));
}

#[tokio::test]
async fn an_oras_tag_is_downloaded_and_verified_against_its_layer_digest() {
    let registry = start_registry().await;
    let pushed = registry.push_disk_image("nosi/debian", "latest").await;
    let host = registry.host.clone();
    let mut app = spawn_app_with(move |s| s.oras_insecure_registries = vec![host]).await;
    app.login().await;
    let name = add_url(&app, &registry.oras("nosi/debian:latest")).await;
    let (status, _) = fetch(&app, json!({"name": name})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], pushed.disk.hex());
    assert!(cached(&app, pushed.disk.hex()).is_some());
    let row = app.catalog_row(&name).await.expect("row");
    assert!(row.cached && row.rolling, "a tag is rolling");
}

#[tokio::test]
async fn an_imported_oras_tag_is_rolling_and_a_digest_reference_is_pinned() {
    let registry = start_registry().await;
    let pushed = registry.push_disk_image("nosi/debian", "latest").await;
    let host = registry.host.clone();
    let mut app = spawn_app_with(move |s| s.oras_insecure_registries = vec![host]).await;
    app.login().await;
    let tag = registry.oras("nosi/debian:latest");
    let digest = registry.oras(&format!("nosi/debian@{}", pushed.disk.digest));
    let toml = format!(
        "version = 1\n\n[[images]]\nname = \"tag.img.gz\"\nsrc = \"{tag}\"\n\n\
         [[images]]\nname = \"digest.img.gz\"\nsrc = \"{digest}\"\n"
    );
    upload_catalog(&app, toml).await;
    let rows = app.catalog().await;
    // Both resolve to the same content: one unified row, rolling through its tag.
    let row = rows
        .iter()
        .find(|r| r.names.iter().any(|n| n == "tag.img.gz"))
        .expect("row");
    assert_eq!(row.sha256.as_deref(), Some(pushed.disk.hex()));
    assert!(row.rolling);
    let (status, body) = fetch(&app, json!({"name": "digest.img.gz", "update": true})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a digest pins: {body}");
    let (status, _) = fetch(&app, json!({"name": "tag.img.gz", "update": true})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = wait_for(&app, "tag.img.gz", "completed").await;
    assert_eq!(done["sha256"], pushed.disk.hex());
}
