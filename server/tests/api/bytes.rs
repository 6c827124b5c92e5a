//! `GET|HEAD /images/{key}[/{name}]`: open byte serving with ranges and
//! validators, by file name, by ref and by content SHA.

use reqwest::{header, StatusCode};

use crate::helpers::{gzipped, raw_request, sha256_hex, spawn_app, TestApp};

const DATA: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

async fn upload(app: &TestApp, name: &str, data: &[u8]) {
    let response = app
        .client
        .put(app.url(&format!("/images/{name}")))
        .header(
            "cookie",
            format!("bty-token={}", app.cookie.clone().unwrap_or_default()),
        )
        .body(data.to_vec())
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), StatusCode::OK);
}

async fn get_with(
    app: &TestApp,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> reqwest::Response {
    // Open routes: no cookie.
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.expect("GET")
}

#[tokio::test]
async fn an_image_is_served_openly_by_name_by_sha_and_by_ref() {
    let mut app = spawn_app().await;
    app.login().await;
    // Real gzip: the content type is what the bytes are.
    let data = gzipped(DATA);
    upload(&app, "serve me.img.gz", &data).await;
    let sha = sha256_hex(&data);
    let image_ref = app
        .catalog_row("serve me.img.gz")
        .await
        .expect("row")
        .image_ref;
    for path in [
        "/images/serve%20me.img.gz".to_owned(),
        format!("/images/{sha}"),
        format!("/images/{sha}/serve%20me.img.gz"),
        format!("/images/{image_ref}"),
        format!("/images/{image_ref}/any-name-at-all"),
    ] {
        let response = get_with(&app, &path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_LENGTH],
            data.len().to_string(),
            "{path}"
        );
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/gzip",
            "{path}"
        );
        assert_eq!(
            response.headers()[header::ETAG],
            format!("\"{sha}\""),
            "{path}"
        );
        assert_eq!(response.headers()[header::ACCEPT_RANGES], "bytes", "{path}");
        assert_eq!(&response.bytes().await.expect("body")[..], data, "{path}");
    }
    let by_name = get_with(&app, "/images/serve%20me.img.gz", &[]).await;
    let disposition = by_name.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii");
    assert!(
        disposition.starts_with("attachment; filename=\"serve me.img.gz\""),
        "{disposition}"
    );
}

#[tokio::test]
async fn head_answers_headers_without_a_body() {
    let mut app = spawn_app().await;
    app.login().await;
    upload(&app, "head.img", DATA).await;
    let response = app
        .client
        .head(app.url("/images/head.img"))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_LENGTH],
        DATA.len().to_string()
    );
    assert!(response.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn ranges_read_the_first_bytes_the_middle_and_the_suffix() {
    let mut app = spawn_app().await;
    app.login().await;
    upload(&app, "ranged.img", DATA).await;
    let cases = [
        ("bytes=0-9", &DATA[0..10], "bytes 0-9/36"),
        ("bytes=10-19", &DATA[10..20], "bytes 10-19/36"),
        ("bytes=-6", &DATA[30..], "bytes 30-35/36"),
        ("bytes=30-", &DATA[30..], "bytes 30-35/36"),
    ];
    for (range, expected, content_range) in cases {
        let response = get_with(&app, "/images/ranged.img", &[(header::RANGE, range)]).await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            response.headers()[header::CONTENT_RANGE],
            content_range,
            "{range}"
        );
        assert_eq!(
            &response.bytes().await.expect("body")[..],
            expected,
            "{range}"
        );
    }
    // Resuming in pieces gives back the whole file.
    let mut resumed = Vec::new();
    while resumed.len() < DATA.len() {
        let range = format!(
            "bytes={}-{}",
            resumed.len(),
            (resumed.len() + 9).min(DATA.len() - 1)
        );
        let response = get_with(&app, "/images/ranged.img", &[(header::RANGE, &range)]).await;
        resumed.extend_from_slice(&response.bytes().await.expect("body"));
    }
    assert_eq!(resumed, DATA);
    let out_of_range = get_with(
        &app,
        "/images/ranged.img",
        &[(header::RANGE, "bytes=100-200")],
    )
    .await;
    assert_eq!(out_of_range.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn a_matching_if_none_match_is_a_304() {
    let mut app = spawn_app().await;
    app.login().await;
    upload(&app, "etag.img", DATA).await;
    let etag = format!("\"{}\"", sha256_hex(DATA));
    let response = get_with(&app, "/images/etag.img", &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(response.headers()[header::ETAG], etag);
    let other = get_with(
        &app,
        "/images/etag.img",
        &[(header::IF_NONE_MATCH, "\"nope\"")],
    )
    .await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_traversal_and_temporary_keys_are_404() {
    let mut app = spawn_app().await;
    app.login().await;
    std::fs::write(
        app.image_root.join(".x.img.0123456789abcdef.bty-partial"),
        b"in flight",
    )
    .expect("temp");
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret.img"), b"secret").expect("write");
    std::os::unix::fs::symlink(
        outside.path().join("secret.img"),
        app.image_root.join("link.img"),
    )
    .expect("symlink");
    for key in [
        "nothing.img".to_owned(),
        "..%5Cx".to_owned(),
        "%2E%2E".to_owned(),
        ".x.img.0123456789abcdef.bty-partial".to_owned(),
        "link.img".to_owned(),
        "f".repeat(64),
    ] {
        let (status, body) = raw_request(&app, "GET", &format!("/images/{key}"), b"").await;
        assert_eq!(status, 404, "{key}: {body}");
    }
    let body: serde_json::Value = get_with(&app, "/images/nothing.img", &[])
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(body["detail"], "no such image: nothing.img");
}

#[tokio::test]
async fn a_file_changed_behind_the_servers_back_is_not_served_by_its_old_sha() {
    let mut app = spawn_app().await;
    app.login().await;
    upload(&app, "drift.img", DATA).await;
    let old_sha = sha256_hex(DATA);
    std::fs::write(app.image_root.join("drift.img"), b"changed outside").expect("write");
    let response = get_with(&app, &format!("/images/{old_sha}"), &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // By name it is still there, without an ETag it cannot vouch for.
    let by_name = get_with(&app, "/images/drift.img", &[]).await;
    assert_eq!(by_name.status(), StatusCode::OK);
    assert!(by_name.headers().get(header::ETAG).is_none());
}
