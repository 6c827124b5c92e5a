//! Stream-through: a GET of a remote entry that is not cached yet streams
//! it from the upstream while it fills the cache, once however many clients
//! ask; a HEAD answers from the catalog without touching the upstream.

use std::time::Duration;

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    helpers::{sha256_hex, spawn_app, TestApp},
    upstream_files::{content, FileUpstream},
};

/// Adds `url` by URL; returns its `bty_image_ref` and name.
async fn add(app: &TestApp, url: &str) -> (String, String) {
    let response = app
        .post_json("/catalog/entries", &json!({"image_url": url}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("JSON");
    (
        body["bty_image_ref"].as_str().expect("ref").to_owned(),
        body["name"].as_str().expect("name").to_owned(),
    )
}

#[tokio::test]
async fn two_gets_of_an_uncached_entry_stream_it_from_one_upstream_download() {
    let bytes = content(3 * 1024 * 1024 + 17, 21);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    upstream.throttle(Some(Duration::from_millis(15)));
    let mut app = spawn_app().await;
    app.login().await;
    let (image_ref, _) = add(&app, &upstream.url("/stream.img")).await;

    let url = app.url(&format!("/images/{image_ref}"));
    let get = || {
        let (client, url) = (app.client.clone(), url.clone());
        async move {
            let response = client.get(url).send().await.expect("GET");
            assert_eq!(response.status(), StatusCode::OK);
            let length = response.content_length();
            (length, response.bytes().await.expect("the whole body"))
        }
    };
    let ((length_a, body_a), (length_b, body_b)) = tokio::join!(get(), get());
    assert_eq!(length_a, Some(bytes.len() as u64));
    assert_eq!(length_b, Some(bytes.len() as u64));
    assert_eq!(sha256_hex(&body_a), sha);
    assert_eq!(sha256_hex(&body_b), sha);
    assert_eq!(upstream.gets().len(), 1, "one upstream download for both");

    let cached = app.state.settings.cache_dir().join(&sha);
    app.eventually(10, "the cache to hold the image", || async {
        cached.is_file().then_some(())
    })
    .await;
    assert_eq!(std::fs::read(&cached).expect("cached"), bytes);
    // Now it is served from the cache, with its sha as ETag.
    let again = app.client.get(&url).send().await.expect("GET");
    assert_eq!(again.headers()[header::ETAG], format!("\"{sha}\""));
    assert_eq!(upstream.gets().len(), 1);
}

#[tokio::test]
async fn head_of_an_uncached_entry_answers_from_the_catalog_without_the_upstream() {
    let bytes = content(70_000, 22);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let mut app = spawn_app().await;
    app.login().await;
    let (image_ref, _) = add(&app, &upstream.url("/head.img")).await;
    let before = upstream.seen().len();
    let response = app
        .client
        .request(Method::HEAD, app.url(&format!("/images/{image_ref}")))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(response.status(), StatusCode::OK);
    // reqwest's content_length() is the (empty) body's; the header is what a client reads.
    assert_eq!(
        response.headers()[header::CONTENT_LENGTH],
        bytes.len().to_string()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(upstream.seen().len(), before, "no upstream request");
    let listing: Value = app
        .get("/catalog/downloads")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(listing["downloads"], json!([]), "no download started");
}

#[tokio::test]
async fn a_stream_whose_bytes_fail_verification_breaks_off_before_its_end() {
    let bytes = content(600_000, 23);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let mut app = spawn_app().await;
    app.login().await;
    let wrong = "c".repeat(64);
    let toml = format!(
        "version = 1\n\n[[images]]\nname = \"wrong.img\"\nsrc = \"{}\"\nsha256 = \"{wrong}\"\n",
        upstream.url("/wrong.img")
    );
    crate::downloads::upload_catalog(&app, toml).await;
    let image_ref = app.catalog_row("wrong.img").await.expect("row").image_ref;
    let response = app
        .client
        .get(app.url(&format!("/images/{image_ref}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.bytes().await.is_err(),
        "the client must see a broken transfer, not a complete wrong file"
    );
    assert!(!app.state.settings.cache_dir().join(&wrong).exists());
}
