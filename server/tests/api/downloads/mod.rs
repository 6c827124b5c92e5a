//! Downloads and the cache (reference sections 1.12 and 1.13, with the D3,
//! D4, D5, D6, D8, D9 and D21 fixes) against real upstreams on 127.0.0.1.
//! The helpers shared by the tests live here.

mod control;
mod fetch;
mod quota;
mod resume;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

pub const MIB: usize = 1024 * 1024;

pub async fn app_with(max_parallel: u32) -> TestApp {
    let mut app = spawn_app_with(move |s| s.catalog_max_parallel = max_parallel).await;
    app.login().await;
    app
}

/// Adds `url` by URL (no sha: unpinned); returns the entry's name.
pub async fn add_url(app: &TestApp, url: &str) -> String {
    let response = app
        .post_json("/catalog/entries", &json!({"image_url": url}))
        .await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["name"].as_str().expect("name").to_owned()
}

/// Imports one pinned entry from an uploaded catalog.
pub async fn add_pinned(app: &TestApp, name: &str, url: &str, sha256: &str) {
    let toml = format!(
        "version = 1\n\n[[images]]\nname = \"{name}\"\nsrc = \"{url}\"\nsha256 = \"{sha256}\"\n"
    );
    upload_catalog(app, toml).await;
}

/// Uploads a catalog through the page's form.
pub async fn upload_catalog(app: &TestApp, toml: String) {
    let response = app
        .upload_catalog_file("catalog.toml", toml.into_bytes())
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap_or_default();
    assert!(!location.contains("error"), "{location}");
}

pub async fn fetch(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let response = app.post_json("/catalog/downloads", &body).await;
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

pub async fn list(app: &TestApp) -> Value {
    let response = app.get("/catalog/downloads").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

pub async fn state_of(app: &TestApp, name: &str) -> Option<Value> {
    list(app).await["downloads"]
        .as_array()
        .expect("downloads")
        .iter()
        .find(|d| d["name"] == name)
        .cloned()
}

/// Waits until the download of `name` is in `status`.
pub async fn wait_for(app: &TestApp, name: &str, status: &str) -> Value {
    app.eventually(60, &format!("{name} to be {status}"), || async {
        state_of(app, name).await.filter(|s| s["status"] == status)
    })
    .await
}

/// Waits until the download of `name` is running with some bytes done.
pub async fn wait_for_progress(app: &TestApp, name: &str) -> Value {
    app.eventually(30, &format!("{name} to make progress"), || async {
        state_of(app, name)
            .await
            .filter(|s| s["status"] == "running" && s["bytes_downloaded"].as_u64().unwrap_or(0) > 0)
    })
    .await
}

/// File names in the cache directory, sorted.
pub fn cache_files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.state.settings.cache_dir())
        .expect("cache dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn cached(app: &TestApp, sha: &str) -> Option<Vec<u8>> {
    std::fs::read(app.state.settings.cache_dir().join(sha)).ok()
}

pub async fn kinds_for(app: &TestApp, name: &str) -> Vec<String> {
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
        // The inspection that follows a download has its own tests.
        .filter(|kind| !kind.starts_with("image."))
        .collect();
    kinds.reverse();
    kinds
}
