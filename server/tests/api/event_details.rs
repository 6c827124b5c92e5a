//! Audit event details follow the reference's table (section 6), which
//! integrators filter on: every kind of it this server emits, made through
//! the real routes, carries at least the table's keys (extra keys are
//! fine). `catalog.fetch.sha_mismatch` is not emitted here: a
//! stream-through joins a download job, whose failure logs
//! `catalog.download.failed` with the error.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    downloads::upload_catalog,
    helpers::{spawn_app, TestApp},
    upstream_files::{content, FileUpstream},
};

/// Kind, subject kind, and the keys its `details` must have (the
/// reference's table, section 6).
const TABLE: &[(&str, &str, &[&str])] = &[
    ("image.uploaded", "image", &["size_bytes"]),
    ("image.upload_failed", "image", &["status_code", "error"]),
    ("image.hashed", "image", &["name", "sha256", "bytes"]),
    ("image.hash_failed", "image", &["name", "error"]),
    (
        "catalog.entry.added",
        "catalog",
        &[
            "name",
            "bty_image_ref",
            "disk_image_sha",
            "format",
            "size_bytes",
        ],
    ),
    (
        "catalog.entry.add_failed",
        "catalog",
        &["image_url", "sha_url", "error"],
    ),
    ("catalog.entry.deleted", "catalog", &[]),
    (
        "catalog.entries.imported",
        "catalog",
        &["source", "imported", "skipped", "errors"],
    ),
    (
        "catalog.cache.deleted",
        "catalog",
        &["name", "disk_image_sha"],
    ),
    (
        "catalog.cache.populated",
        "catalog",
        &["name", "src", "disk_image_sha", "size_bytes"],
    ),
];

async fn put_image(app: &TestApp, name: &str, body: &'static [u8]) -> StatusCode {
    let cookie = app.cookie.as_deref().expect("logged in");
    app.client
        .put(app.url(&format!("/images/{name}")))
        .header("cookie", format!("bty-token={cookie}"))
        .body(body)
        .send()
        .await
        .expect("PUT")
        .status()
}

#[tokio::test]
async fn every_event_of_the_reference_table_carries_its_detail_keys() {
    let upstream = FileUpstream::start(content(80_000, 41)).await;
    let mut app = spawn_app().await;
    app.login().await;

    // image.uploaded, image.hashed; image.upload_failed (a `\` in the name).
    assert_eq!(put_image(&app, "up.img", b"uploaded").await, StatusCode::OK);
    assert_eq!(
        put_image(&app, "a%5Cb.img", b"x").await,
        StatusCode::BAD_REQUEST
    );
    // image.hash_failed: the sidecar cannot be written over a directory.
    let blocker = app.image_root.join("blocked.img.sha256");
    std::fs::create_dir_all(blocker.join("in the way")).expect("directory");
    app.write_image("blocked.img", b"its sidecar is blocked");

    // catalog.entry.added; catalog.entry.add_failed (the "checksum file"
    // is binary, not text).
    let image_url = upstream.url("/added.img");
    let response = app
        .post_json("/catalog/entries", &json!({"image_url": image_url}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let added: Value = response.json().await.expect("JSON");
    let response = app
        .post_json(
            "/catalog/entries",
            &json!({"image_url": upstream.url("/other.img"), "sha_url": upstream.url("/SHA256SUMS")}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // catalog.entries.imported.
    let toml = format!(
        "version = 1\n\n[[images]]\nname = \"imported.img\"\nsrc = \"{}\"\n",
        upstream.url("/imported.img")
    );
    upload_catalog(&app, toml).await;

    // catalog.cache.populated: a flash client's first GET of the unpinned
    // entry, at the URL /images offers.
    let image_ref = added["bty_image_ref"].as_str().expect("ref");
    let response = app
        .client
        .get(app.url(&format!("/images/{image_ref}/added.img")))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.expect("the whole body");
    app.eventually(10, "the entry cached", || async {
        app.catalog_row("added.img").await.filter(|row| row.cached)
    })
    .await;

    // catalog.cache.deleted; catalog.entry.deleted.
    let response = app.delete("/catalog/cache/added.img").await;
    let evicted: Value = response.json().await.expect("JSON");
    assert_eq!(evicted["deleted"], true, "{evicted}");
    let response = app
        .delete(&format!("/catalog/entries?src={image_url}"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    for (kind, subject_kind, keys) in TABLE {
        let events = app
            .eventually(30, &format!("a {kind} event"), || async {
                let events = app.events_of_kind(kind).await;
                (!events.is_empty()).then_some(events)
            })
            .await;
        for event in &events {
            assert_eq!(event["subject_kind"], *subject_kind, "{event}");
            for key in *keys {
                assert!(
                    event["details"].get(key).is_some(),
                    "{kind} lacks details.{key}: {event}"
                );
            }
        }
    }
}
