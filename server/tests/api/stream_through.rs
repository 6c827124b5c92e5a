//! Stream-through: a GET of a remote entry that is not cached yet streams
//! it from the upstream while it fills the cache, once however many clients
//! ask; a HEAD answers from the catalog without touching the upstream.
//! `GET /images` offers such an entry at this URL, so the first flash of an
//! entry without a sha back-fills it.

use std::time::Duration;

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    helpers::{sha256_hex, spawn_app, TestApp},
    listing::{catalog_toml, listed},
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

#[tokio::test]
async fn an_unpinned_url_is_offered_here_and_its_first_flash_back_fills_its_sha() {
    let bytes = content(700_000, 24);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let mut app = spawn_app().await;
    app.login().await;
    let (image_ref, name) = add(&app, &upstream.url("/dir/unpinned.img")).await;
    assert_eq!(name, "unpinned.img");

    let entry = listed(&app, &name)
        .await
        .expect("offered before its sha is known");
    let stream_url = app.url(&format!("/images/{image_ref}/unpinned.img"));
    assert_eq!(entry["url"], stream_url);
    assert_eq!(entry["ref"], image_ref);
    assert_eq!(entry["sha_short"], Value::Null);
    assert_eq!(entry["cached"], false);
    assert!(
        catalog_toml(&app).await.is_empty(),
        "the bty client needs a sha"
    );
    assert!(upstream.gets().is_empty(), "listing fetches nothing");

    // A flash client without a session follows the listed URL.
    let response = app.client.get(&stream_url).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes().await.expect("the whole body");
    assert_eq!(sha256_hex(&body), sha, "the upstream bytes");
    assert_eq!(upstream.gets().len(), 1);

    let entry = app
        .eventually(10, "the entry offered from the cache", || async {
            listed(&app, &name).await.filter(|e| e["cached"] == true)
        })
        .await;
    let sha_url = app.url(&format!("/images/{sha}/unpinned.img"));
    assert_eq!(entry["url"], sha_url);
    assert_eq!(entry["sha_short"], &sha[..12]);
    assert_eq!(entry["size_bytes"], bytes.len());
    let row = app.catalog_row(&name).await.expect("row");
    assert_eq!(row.sha256.as_deref(), Some(sha.as_str()), "back-filled");
    assert!(row.rolling, "observed, not pinned");
    let written = catalog_toml(&app).await;
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].name, name);
    assert_eq!(written[0].src, sha_url);
    assert_eq!(written[0].sha256.as_deref(), Some(sha.as_str()));

    // Both URLs now answer from the cache, without the upstream.
    for url in [&sha_url, &stream_url] {
        let again = app.client.get(url).send().await.expect("GET");
        assert_eq!(again.headers()[header::ETAG], format!("\"{sha}\""));
        assert_eq!(again.bytes().await.expect("body"), bytes);
    }
    assert_eq!(upstream.gets().len(), 1);
}

#[tokio::test]
async fn a_pinned_uncached_entry_listed_in_the_catalog_is_served_verified_from_here() {
    let bytes = content(400_000, 25);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let mut app = spawn_app().await;
    app.login().await;
    crate::downloads::add_pinned(&app, "pinned.img", &upstream.url("/pinned.img"), &sha).await;
    let written = catalog_toml(&app).await;
    assert_eq!(written.len(), 1);
    let image_ref = app.catalog_row("pinned.img").await.expect("row").image_ref;
    assert_eq!(
        written[0].src,
        app.url(&format!("/images/{image_ref}/pinned.img")),
        "this server, not the upstream"
    );
    let entry = listed(&app, "pinned.img").await.expect("listed");
    assert_eq!(entry["url"], written[0].src);
    assert_eq!(entry["cached"], false);

    let response = app.client.get(&written[0].src).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::ETAG], format!("\"{sha}\""));
    assert_eq!(response.bytes().await.expect("body"), bytes);
    let row = app
        .eventually(10, "the cache to hold the image", || async {
            app.catalog_row("pinned.img").await.filter(|row| row.cached)
        })
        .await;
    assert!(!row.rolling, "still pinned");
}
