//! Adding images by URL (JSON and the page's form), listing and deleting
//! entries, against a real upstream on 127.0.0.1.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{sha256_hex, spawn_app, TestApp},
    upstream::Upstream,
};

async fn add(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/catalog/entries", &body).await
}

#[tokio::test]
async fn an_image_url_is_added_with_its_probed_size_and_logged() {
    let mut app = spawn_app().await;
    app.login().await;
    let upstream = Upstream::start().await;
    upstream.put("/images/debian.img.xz", vec![0u8; 4321]);
    let url = upstream.url("/images/debian.img.xz");
    let response = add(&app, json!({"image_url": url})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["src"], url);
    assert_eq!(body["name"], "debian.img.xz");
    assert_eq!(body["format"], "img.xz");
    assert_eq!(body["size_bytes"], 4321);
    assert_eq!(body["disk_image_sha"], Value::Null);
    assert_eq!(body["sha_url"], Value::Null);
    assert_eq!(body["bty_image_ref"].as_str().map(str::len), Some(64));
    let row = app
        .catalog_row("debian.img.xz")
        .await
        .expect("a unified row");
    assert_eq!(row.sources[0].kind, app::model::SourceKind::Url);
    assert!(!row.cached);
    let added = app.events_of_kind("catalog.entry.added").await;
    assert_eq!(added[0]["subject_id"], url);
    assert_eq!(added[0]["actor"], "admin", "the operator who did it");
}

#[tokio::test]
async fn a_checksum_file_pins_the_sha_and_its_failures_are_logged() {
    let mut app = spawn_app().await;
    app.login().await;
    let upstream = Upstream::start().await;
    let sha = sha256_hex(b"pinned");
    upstream.put(
        "/SHA256SUMS",
        format!("{}  other.img\n{sha} *./pinned.img.gz\n", "0".repeat(64)),
    );
    upstream.put("/bare.sha256", format!("{}\n", sha.to_uppercase()));
    let pinned: Value = add(&app, json!({"image_url": upstream.url("/pinned.img.gz"), "sha_url": upstream.url("/SHA256SUMS")}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(pinned["disk_image_sha"], sha);
    let bare: Value = add(
        &app,
        json!({"image_url": upstream.url("/bare.img"), "sha_url": upstream.url("/bare.sha256")}),
    )
    .await
    .json()
    .await
    .expect("JSON");
    assert_eq!(
        bare["disk_image_sha"], sha,
        "a lone bare digest is accepted (D12)"
    );

    let missing = add(
        &app,
        json!({"image_url": upstream.url("/x.img"), "sha_url": upstream.url("/nope")}),
    )
    .await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let detail = missing.json::<Value>().await.expect("JSON")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.starts_with("could not resolve sha256: HTTP 404"),
        "{detail}"
    );
    upstream.put("/latin1", vec![0xff, 0xfe, 0x00]);
    let binary = add(
        &app,
        json!({"image_url": upstream.url("/y.img"), "sha_url": upstream.url("/latin1")}),
    )
    .await;
    assert_eq!(binary.status(), StatusCode::BAD_REQUEST, "not a 500 (D12)");
    let failed = app.events_of_kind("catalog.entry.add_failed").await;
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[1]["details"]["sha_url"], upstream.url("/nope"));
    assert!(app.catalog_row("x.img").await.is_none());
}

#[tokio::test]
async fn validation_ref_and_basename_errors_are_422_and_duplicates_409() {
    let mut app = spawn_app().await;
    app.login().await;
    for body in [
        json!({"image_url": "HTTPS://h/x.img"}),
        json!({"image_url": "https://?"}),
        json!({"image_url": "http:///path"}),
        json!({"image_url": "https://"}),
        json!({"image_url": "ftp://h/x.img"}),
        json!({"image_url": "https://127.0.0.1:9/x.img", "sha_url": "file:///etc/passwd"}),
        json!({"image_url": "https://127.0.0.1:9/x.img", "ref": "XYZ"}),
        json!({"image_url": "https://127.0.0.1:9/x.img", "bogus": 1}),
        json!({}),
    ] {
        let response = add(&app, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    let no_name = add(&app, json!({"image_url": "http://127.0.0.1:9/"})).await;
    assert_eq!(no_name.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        no_name.json::<Value>().await.expect("JSON")["detail"],
        "image_url must end in a filename component (e.g. https://example.com/path/foo.img.gz); got 'http://127.0.0.1:9/' which has no basename"
    );
    let wrong_ref = add(
        &app,
        json!({"image_url": "http://127.0.0.1:9/r.img", "ref": "0".repeat(64)}),
    )
    .await;
    assert_eq!(wrong_ref.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let detail = wrong_ref.json::<Value>().await.expect("JSON")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.starts_with("ref mismatch: supplied '0000"),
        "{detail}"
    );

    let right_ref =
        server::catalog::identity::image_ref_for_src("http://127.0.0.1/d.img").expect("ref");
    let first = add(
        &app,
        json!({"image_url": "http://127.0.0.1/d.img", "ref": right_ref}),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    for twin in ["http://127.0.0.1/d.img", "http://127.0.0.1:80/d.img"] {
        let again = add(&app, json!({"image_url": twin})).await;
        assert_eq!(again.status(), StatusCode::CONFLICT, "{twin}");
        assert_eq!(
            again.json::<Value>().await.expect("JSON")["detail"],
            format!("catalog entry with src={twin} already exists")
        );
    }
}

#[tokio::test]
async fn the_form_adds_the_same_way_and_bounces_errors_to_the_page() {
    let mut app = spawn_app().await;
    app.login().await;
    let post = |fields: Vec<(&'static str, String)>| {
        let request = app
            .client
            .post(app.url("/ui/catalog/entries"))
            .header(
                "cookie",
                format!("bty-token={}", app.cookie.clone().unwrap_or_default()),
            )
            .form(&fields);
        async move { request.send().await.expect("form") }
    };
    let ok = post(vec![
        ("image_url", "http://127.0.0.1:9/form.img.gz".into()),
        ("sha_url", String::new()),
    ])
    .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()["location"], "/ui/images");
    assert_eq!(
        app.events_of_kind("catalog.entry.added").await.len(),
        1,
        "the form logs too (D11)"
    );
    let twice = post(vec![("image_url", "http://127.0.0.1:9/form.img.gz".into())]).await;
    assert_eq!(
        twice.headers()["location"],
        "/ui/images?error=already%20exists"
    );
    let invalid = post(vec![("image_url", "nonsense".into())]).await;
    let location = invalid.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with("/ui/images?error=validation%20failed"),
        "{location}"
    );
}

#[tokio::test]
async fn entries_are_listed_and_deleted_by_exact_src() {
    let mut app = spawn_app().await;
    app.login().await;
    add(&app, json!({"image_url": "http://127.0.0.1:9/gone.img"})).await;
    app.write_image("local.img", b"local");
    app.wait_until_hashed("local.img").await;
    let listed: Vec<Value> = app
        .get("/catalog/entries")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .any(|e| e["src"] == "file://local.img" && e["kind"] == "local"));

    let missing = app.delete("/catalog/entries").await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app
        .delete("/catalog/entries?src=http://127.0.0.1:9/never.img")
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.json::<Value>().await.expect("JSON")["detail"],
        "no catalog entry with src=http://127.0.0.1:9/never.img"
    );
    let local = app.delete("/catalog/entries?src=file://local.img").await;
    assert_eq!(
        local.status(),
        StatusCode::CONFLICT,
        "a file's row goes with the file"
    );
    let deleted = app
        .delete("/catalog/entries?src=http://127.0.0.1:9/gone.img")
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(app.catalog_row("gone.img").await.is_none());
    assert_eq!(app.events_of_kind("catalog.entry.deleted").await.len(), 1);
}
