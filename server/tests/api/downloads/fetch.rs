//! Fetching entries: pinned and unpinned URLs, `oras://` tags and digests,
//! verification, and the name checks of `POST /catalog/downloads`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::{
    helpers::{sha256_hex, spawn_app_with},
    registry::start_registry,
    upstream_files::{content, FileUpstream},
};

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
    assert_eq!(populated[0]["details"]["disk_image_sha"], sha);
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
