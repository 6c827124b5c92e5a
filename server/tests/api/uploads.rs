//! `PUT /images/{name}`: streaming uploads hashed as they arrive.

use std::time::Duration;

use app::model::{JobStatus, UploadResult};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::helpers::{
    raw_request, sha256_hex, spawn_app, spawn_app_with, zstd_compressed, TestApp,
};

async fn put(app: &TestApp, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    let request = app.client.put(app.url(path)).body(body);
    let request = match &app.cookie {
        Some(token) => request.header("cookie", format!("bty-token={token}")),
        None => request,
    };
    request.send().await.expect("PUT")
}

/// Every file in the image root, sorted.
fn root_files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&app.image_root)
        .expect("image root")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_upload_answers_with_its_sha_once_file_sidecar_and_row_exist() {
    let mut app = spawn_app().await;
    app.login().await;
    let data = zstd_compressed(&b"uploaded image bytes".repeat(5000));
    let response = put(&app, "/images/up.img.zst", data.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let result: UploadResult = response.json().await.expect("JSON");
    let sha = sha256_hex(&data);
    assert_eq!(result.name, "up.img.zst");
    assert_eq!(result.size_bytes, data.len() as u64);
    assert_eq!(result.sha256, sha);
    assert_eq!(
        result.path,
        app.image_root.join("up.img.zst").display().to_string()
    );
    // No waiting: all of it exists when the 200 arrives.
    assert_eq!(
        std::fs::read(app.image_root.join("up.img.zst")).expect("file"),
        data
    );
    assert_eq!(
        std::fs::read_to_string(app.image_root.join("up.img.zst.sha256")).expect("sidecar"),
        format!("{sha}  up.img.zst\n")
    );
    let row = app.catalog_row("up.img.zst").await.expect("row");
    assert_eq!(row.sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(row.format.as_deref(), Some("img.zst"));
    let state = app.hash_state("up.img.zst").await.expect("hash state");
    assert_eq!(state.status, JobStatus::Completed);

    let events: Value = app
        .get("/events?subject_id=up.img.zst")
        .await
        .json()
        .await
        .expect("JSON");
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        // The inspection queued at the end may have run already.
        .filter(|kind| *kind != "image.inspected")
        .collect();
    assert_eq!(kinds, ["image.hashed", "image.uploaded"]);
    let of_kind = |kind: &str| {
        events["events"]
            .as_array()
            .and_then(|all| all.iter().find(|e| e["kind"] == kind))
            .cloned()
            .expect("an event of the kind")
    };
    let uploaded = &of_kind("image.uploaded");
    assert_eq!(uploaded["actor"], "admin", "the operator who did it");
    assert_eq!(uploaded["source_ip"], "127.0.0.1");
    assert_eq!(uploaded["details"]["size_bytes"], data.len());
    assert_eq!(uploaded["details"]["sha256"], sha);
    assert_eq!(of_kind("image.hashed")["actor"], "system");
    assert_eq!(root_files(&app), ["up.img.zst", "up.img.zst.sha256"]);
}

#[tokio::test]
async fn an_upload_needs_a_login() {
    let app = spawn_app().await;
    let response = put(&app, "/images/x.img", "x").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(root_files(&app).is_empty());
}

#[tokio::test]
async fn an_empty_body_is_a_valid_empty_image() {
    let mut app = spawn_app().await;
    app.login().await;
    let result: UploadResult = put(&app, "/images/empty.img", Vec::<u8>::new())
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(result.size_bytes, 0);
    assert_eq!(result.sha256, sha256_hex(b""));
}

#[tokio::test]
async fn bad_names_are_refused_and_leave_nothing() {
    let mut app = spawn_app().await;
    app.login().await;
    // Sent as written: an HTTP client would fold `%2E%2E` into `..`.
    for name in ["..%5Cx.img", "a%5Cb.img", "a%00b.img", "%2E", "%2E%2E"] {
        let (status, body) = raw_request(&app, "PUT", &format!("/images/{name}"), b"x").await;
        assert_eq!(status, 400, "{name}: {body}");
        let body: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(body["detail"], "bad name", "{name}");
    }
    for name in ["..%2Fx.img", "%2E%2E%2Fx.img", "x%2Fy.img", "a/b.img"] {
        let (status, body) = raw_request(&app, "PUT", &format!("/images/{name}"), b"x").await;
        assert_eq!(status, 405, "{name}: {body}");
    }
    // A symlink out of the root is not followed for writing.
    let outside = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(
        outside.path().join("evil.img"),
        app.image_root.join("evil.img"),
    )
    .expect("symlink");
    let response = put(&app, "/images/evil.img", "x").await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a dangling link inside the root is just a name"
    );
    assert!(
        !outside.path().join("evil.img").exists(),
        "nothing was written outside the root"
    );
    std::fs::write(outside.path().join("target.img"), b"keep").expect("write");
    std::fs::remove_file(app.image_root.join("evil.img")).expect("remove");
    std::os::unix::fs::symlink(
        outside.path().join("target.img"),
        app.image_root.join("evil.img"),
    )
    .expect("symlink");
    let response = put(&app, "/images/evil.img", "overwrite").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        std::fs::read(outside.path().join("target.img")).expect("read"),
        b"keep"
    );
    assert_eq!(app.events_of_kind("image.upload_failed").await.len(), 6);
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_before_reading() {
    let mut app = spawn_app_with(|s| s.max_upload_bytes = 1000).await;
    app.login().await;
    let response = put(&app, "/images/big.img", vec![0u8; 1001]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body["detail"],
        "upload exceeded 1000 bytes (BTY_MAX_UPLOAD_BYTES). Aborted at 0 bytes."
    );
    assert!(root_files(&app).is_empty());
    let failed = app.events_of_kind("image.upload_failed").await;
    assert_eq!(failed[0]["details"]["status_code"], 413);
}

#[tokio::test]
async fn a_streamed_body_crossing_the_cap_is_aborted() {
    let mut app = spawn_app_with(|s| s.max_upload_bytes = 100_000).await;
    app.login().await;
    let chunks = (0..50).map(|_| Ok::<_, std::io::Error>(vec![7u8; 10_000]));
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let response = put(&app, "/images/stream.img", body).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.expect("JSON");
    let detail = body["detail"].as_str().expect("detail");
    assert!(
        detail.starts_with("upload exceeded 100000 bytes (BTY_MAX_UPLOAD_BYTES). Aborted at "),
        "{detail}"
    );
    assert!(root_files(&app).is_empty(), "{:?}", root_files(&app));
    assert!(app.catalog_row("stream.img").await.is_none());
}

#[tokio::test]
async fn a_client_that_disconnects_halfway_leaves_no_file_and_is_logged() {
    let mut app = spawn_app().await;
    app.login().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let head = format!(
        "PUT /images/cut.img HTTP/1.1\r\nHost: {address}\r\nCookie: bty-token={}\r\nContent-Length: 10000000\r\n\r\n",
        app.cookie.clone().unwrap_or_default()
    );
    socket.write_all(head.as_bytes()).await.expect("head");
    socket
        .write_all(&vec![1u8; 3_000_000])
        .await
        .expect("half a body");
    socket.flush().await.expect("flush");
    // The temporary file exists while the body streams...
    let temp = app
        .eventually(10, "the temporary file", || async {
            root_files(&app)
                .into_iter()
                .find(|n| n.starts_with(".cut.img.") && n.ends_with(".bty-partial"))
        })
        .await;
    assert!(!temp.is_empty());
    drop(socket);
    // ...and is gone after the disconnect, with a failure event.
    app.eventually(10, "the cleanup", || async {
        root_files(&app).is_empty().then_some(())
    })
    .await;
    let failed = app
        .eventually(10, "the failure event", || async {
            let events = app.events_of_kind("image.upload_failed").await;
            (!events.is_empty()).then_some(events)
        })
        .await;
    assert_eq!(failed[0]["subject_id"], "cut.img");
    assert!(app.catalog_row("cut.img").await.is_none());
}

#[tokio::test]
async fn two_uploads_of_one_name_at_once_never_mix() {
    let mut app = spawn_app().await;
    app.login().await;
    let first = vec![b'a'; 8 << 20];
    let second = vec![b'b'; 8 << 20];
    let (one, two) = tokio::join!(
        put(&app, "/images/race.img", first.clone()),
        put(&app, "/images/race.img", second.clone())
    );
    assert_eq!(one.status(), StatusCode::OK);
    assert_eq!(two.status(), StatusCode::OK);
    let on_disk = std::fs::read(app.image_root.join("race.img")).expect("file");
    assert!(
        on_disk == first || on_disk == second,
        "the file is exactly one of the bodies"
    );
    let sha = sha256_hex(&on_disk);
    let row = app.catalog_row("race.img").await.expect("row");
    assert_eq!(
        row.sha256.as_deref(),
        Some(sha.as_str()),
        "the row describes the file"
    );
    let sidecar = std::fs::read_to_string(app.image_root.join("race.img.sha256")).expect("sidecar");
    assert!(sidecar.starts_with(&sha));
    assert_eq!(root_files(&app), ["race.img", "race.img.sha256"]);
}

#[tokio::test]
async fn overwriting_replaces_sidecar_sha_and_row_and_the_old_sha_stops_resolving() {
    let mut app = spawn_app().await;
    app.login().await;
    put(&app, "/images/over.img", "old bytes").await;
    let old_sha = sha256_hex(b"old bytes");
    assert_eq!(
        app.get(&format!("/images/{old_sha}")).await.status(),
        StatusCode::OK
    );
    let result: UploadResult = put(&app, "/images/over.img", "new bytes!")
        .await
        .json()
        .await
        .expect("JSON");
    let new_sha = sha256_hex(b"new bytes!");
    assert_eq!(result.sha256, new_sha);
    let row = app.catalog_row("over.img").await.expect("row");
    assert_eq!(row.sha256.as_deref(), Some(new_sha.as_str()));
    assert!(
        std::fs::read_to_string(app.image_root.join("over.img.sha256"))
            .expect("sidecar")
            .starts_with(&new_sha)
    );
    assert_eq!(
        app.get(&format!("/images/{old_sha}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let served = app
        .get(&format!("/images/{new_sha}"))
        .await
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(&served[..], b"new bytes!");
    // The reconciler, woken by the rename, agrees and changes nothing.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        app.catalog_row("over.img").await.expect("row").sha256,
        Some(new_sha)
    );
}

#[tokio::test]
async fn a_sidecar_upload_is_stored_as_a_file_only() {
    let mut app = spawn_app().await;
    app.login().await;
    let text = format!("{}  other.img\n", "c".repeat(64));
    let response = put(&app, "/images/other.img.sha256", text.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        std::fs::read_to_string(app.image_root.join("other.img.sha256")).expect("file"),
        text
    );
    assert!(app.catalog().await.is_empty());
    let events: Value = app
        .get("/events?subject_kind=image")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(events["events"], serde_json::json!([]));
}

#[tokio::test]
async fn a_chunked_upload_without_a_length_arrives_intact_and_hashed() {
    let mut app = spawn_app().await;
    app.login().await;
    let chunks = (0..64u8).map(|i| Ok::<_, std::io::Error>(vec![i; 1 << 20]));
    let mut all = Vec::new();
    for i in 0..64u8 {
        all.extend(vec![i; 1 << 20]);
    }
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let result: UploadResult = put(&app, "/images/chunked.img", body)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(result.size_bytes, 64 << 20);
    assert_eq!(result.sha256, sha256_hex(&all));
    assert_eq!(
        std::fs::read(app.image_root.join("chunked.img")).expect("file"),
        all
    );
}
