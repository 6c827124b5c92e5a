//! The hash API: queueing, dedup, re-hashing, cancelling, bad names.

use app::model::JobStatus;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{sha256_hex, spawn_app, spawn_app_with, TestApp};

/// A sparse file: big enough that hashing takes a while, instant to make.
fn sparse_image(app: &TestApp, name: &str, bytes: u64) {
    let file = std::fs::File::create(app.image_root.join(name)).expect("create");
    file.set_len(bytes).expect("set_len");
}

#[tokio::test]
async fn a_hashed_file_gets_a_sidecar_and_its_sha_on_the_catalog_row() {
    let mut app = spawn_app().await;
    app.login().await;
    let data = b"disk image bytes".repeat(1000);
    app.write_image("disk.img", &data);
    let row = app.wait_until_hashed("disk.img").await;
    let expected = sha256_hex(&data);
    assert_eq!(row.sha256.as_deref(), Some(expected.as_str()));
    assert_eq!(row.format.as_deref(), Some("img"));
    assert_eq!(row.size_bytes, Some(data.len() as i64));
    let sidecar = std::fs::read_to_string(app.image_root.join("disk.img.sha256")).expect("sidecar");
    assert_eq!(sidecar, format!("{expected}  disk.img\n"));

    let state = app.hash_state("disk.img").await.expect("a hash state");
    assert_eq!(state.status, JobStatus::Completed);
    assert_eq!(state.bytes_hashed, data.len() as u64);
    assert_eq!(
        state.path,
        app.image_root.join("disk.img").display().to_string()
    );
    assert!(state.started_at.is_some() && state.finished_at.is_some());

    let events: Value = app
        .get("/events?kind=image.hashed")
        .await
        .json()
        .await
        .expect("JSON");
    let event = &events["events"][0];
    assert_eq!(event["subject_id"], "disk.img");
    assert_eq!(event["actor"], "system");
    assert_eq!(
        event["details"],
        json!({"name": "disk.img", "sha256": expected, "bytes": data.len()})
    );
}

#[tokio::test]
async fn the_hash_list_names_the_image_root_and_parallelism() {
    let mut app = spawn_app_with(|s| s.hash_max_parallel = 3).await;
    app.login().await;
    let body: Value = app.get("/catalog/hashes").await.json().await.expect("JSON");
    assert_eq!(body["image_root"], app.image_root.display().to_string());
    assert_eq!(body["max_parallel"], 3);
    assert_eq!(body["hashes"], json!([]));
}

#[tokio::test]
async fn enqueueing_a_hashed_file_returns_the_completed_state_without_work() {
    let mut app = spawn_app().await;
    app.login().await;
    app.write_image("done.img", b"abc");
    app.wait_until_hashed("done.img").await;
    let before = app.hash_state("done.img").await.expect("state");
    let response = app.enqueue_hash("done.img").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let state: Value = response.json().await.expect("JSON");
    assert_eq!(state["status"], "completed");
    assert_eq!(state["sha256"], sha256_hex(b"abc"));
    assert_eq!(
        state["finished_at"],
        json!(before.finished_at),
        "the same job, not a new one"
    );
}

#[tokio::test]
async fn deleting_the_sidecar_and_hashing_again_really_hashes_again() {
    let mut app = spawn_app().await;
    app.login().await;
    app.write_image("again.img", b"first");
    app.wait_until_hashed("again.img").await;
    let first = app.hash_state("again.img").await.expect("state");
    std::fs::remove_file(app.image_root.join("again.img.sha256")).expect("remove sidecar");

    let response = app.enqueue_hash("again.img").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let second = app
        .eventually(30, "a second completed hash", || async {
            app.hash_state("again.img")
                .await
                .filter(|s| s.status == JobStatus::Completed && s.finished_at != first.finished_at)
        })
        .await;
    assert_eq!(second.sha256, Some(sha256_hex(b"first")));
    assert!(
        app.image_root.join("again.img.sha256").is_file(),
        "the sidecar is back"
    );
}

#[tokio::test]
async fn bad_names_are_422_and_missing_files_404() {
    let mut app = spawn_app().await;
    app.login().await;
    app.write_image("notes.txt", b"not an image");
    for body in [
        json!({"name": ".."}),
        json!({"name": "."}),
        json!({"name": "a/b.img"}),
        json!({"name": "a\\b.img"}),
        json!({"name": ""}),
        json!({"name": "notes.txt"}),
        json!({}),
        json!({"name": "x.img", "bogus": 1}),
    ] {
        let response = app.post_json("/catalog/hashes", &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.expect("JSON");
        assert!(error["detail"].is_array(), "{error}");
    }
    let missing = app.enqueue_hash("missing.img").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let error: Value = missing.json().await.expect("JSON");
    let path = app.image_root.join("missing.img");
    assert_eq!(
        error["detail"],
        format!("no image file at {}", path.display())
    );
    let unknown = app.delete("/catalog/hashes/never.img").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let error: Value = unknown.json().await.expect("JSON");
    assert_eq!(error["detail"], "no active hash named 'never.img'");
    assert!(
        app.hash_state("notes.txt").await.is_none(),
        "nothing was queued"
    );
}

#[tokio::test]
async fn cancelling_a_running_hash_stops_it_and_logs_the_cancel() {
    let mut app = spawn_app().await;
    app.login().await;
    sparse_image(&app, "big.img", 8 << 30);
    app.eventually(30, "the hash to run", || async {
        app.hash_state("big.img")
            .await
            .filter(|s| s.status == JobStatus::Running)
    })
    .await;
    let response = app.delete("/catalog/hashes/big.img").await;
    assert_eq!(response.status(), StatusCode::OK);
    let state: Value = response.json().await.expect("JSON");
    assert_eq!(
        state["status"], "running",
        "a running job stops within a chunk"
    );
    let cancelled = app
        .eventually(30, "the cancel", || async {
            app.hash_state("big.img")
                .await
                .filter(|s| s.status == JobStatus::Cancelled)
        })
        .await;
    assert!(cancelled.bytes_hashed < 8 << 30);
    assert!(!app.image_root.join("big.img.sha256").exists());
    let events: Value = app
        .get("/events?kind=image.hash_cancelled")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(events["events"][0]["subject_id"], "big.img");
    assert_eq!(
        events["events"][0]["actor"], "admin",
        "the operator who cancelled"
    );
}

#[tokio::test]
async fn a_queued_hash_is_cancelled_at_once() {
    let mut app = spawn_app().await;
    app.login().await;
    sparse_image(&app, "first.img", 8 << 30);
    app.eventually(30, "the first hash to run", || async {
        app.hash_state("first.img")
            .await
            .filter(|s| s.status == JobStatus::Running)
    })
    .await;
    sparse_image(&app, "second.img", 1 << 20);
    app.eventually(30, "the second hash to queue", || async {
        app.hash_state("second.img")
            .await
            .filter(|s| s.status == JobStatus::Queued)
    })
    .await;
    let response = app.delete("/catalog/hashes/second.img").await;
    let state: Value = response.json().await.expect("JSON");
    assert_eq!(state["status"], "cancelled");
    // Cancelling again returns the finished state unchanged.
    let again: Value = app
        .delete("/catalog/hashes/second.img")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(again["status"], "cancelled");
    app.delete("/catalog/hashes/first.img").await;
}
