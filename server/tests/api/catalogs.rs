//! Catalog imports: the Upload catalog and Fetch catalog forms, and
//! `POST /catalog/import`, against a real upstream on 127.0.0.1.

use reqwest::{multipart, StatusCode};
use serde_json::Value;

use crate::{
    helpers::{spawn_app, spawn_app_with, TestApp},
    upstream::Upstream,
};

const CATALOG: &str = r#"version = 1

[[images]]
name = "nosi debian (x86_64)"
src = "https://images.example/debian.img.gz"
sha256 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
size_bytes = 1234
description = "rolling"

[[images]]
name = "ubuntu"
src = "oras://127.0.0.1:9/safl/nosi/ubuntu:latest"
format = "img.gz"
"#;

async fn upload_catalog(app: &TestApp, filename: &str, bytes: Vec<u8>) -> reqwest::Response {
    app.upload_catalog_file(filename, bytes).await
}

/// The `?error=` a 303 carries, decoded; `None` for a plain success.
fn flash(response: &reqwest::Response) -> Option<String> {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let query = location.strip_prefix("/ui/images")?;
    let encoded = query.strip_prefix("?error=")?;
    Some(
        percent_encoding::percent_decode_str(encoded)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

async fn entries(app: &TestApp) -> Vec<Value> {
    app.get("/catalog/entries")
        .await
        .json::<Vec<Value>>()
        .await
        .expect("entries")
}

async fn names(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = entries(app)
        .await
        .iter()
        .map(|e| e["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

/// `POST /catalog/import?source=<source>`, the source as written.
async fn import(app: &TestApp, source: &str) -> reqwest::Response {
    app.post_json(&format!("/catalog/import?source={source}"), &Value::Null)
        .await
}

/// The report of an import that is expected to succeed.
async fn import_report(app: &TestApp, source: &str) -> Value {
    import(app, source).await.json().await.expect("JSON")
}

#[tokio::test]
async fn an_uploaded_catalog_is_imported_and_kept() {
    let mut app = spawn_app().await;
    app.login().await;
    let response = upload_catalog(&app, "catalog.toml", CATALOG.as_bytes().to_vec()).await;
    assert_eq!(flash(&response), None);
    let rows = entries(&app).await;
    assert_eq!(rows.len(), 2);
    let debian = rows
        .iter()
        .find(|r| r["name"] == "nosi debian (x86_64)")
        .expect("debian");
    assert_eq!(
        debian["disk_image_sha"],
        "a".repeat(64),
        "stored lower-case"
    );
    assert_eq!(debian["size_bytes"], 1234);
    assert_eq!(debian["description"], "rolling");
    assert_eq!(
        debian["format"],
        Value::Null,
        "the name has no image suffix"
    );
    assert_eq!(debian["kind"], "manifest");
    let ubuntu = rows.iter().find(|r| r["name"] == "ubuntu").expect("ubuntu");
    assert_eq!(ubuntu["format"], "img.gz");
    assert_eq!(ubuntu["disk_image_sha"], Value::Null);
    let kept =
        std::fs::read_to_string(app.state_dir().join("catalog.toml")).expect("manifest file");
    assert_eq!(kept, CATALOG);
    let events: Value = app
        .get("/events?kind=catalog.entries.imported")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(events["events"][0]["details"]["imported"], 2);
    assert_eq!(events["events"][0]["subject_id"], "<upload>");
}

#[tokio::test]
async fn a_bad_catalog_upload_bounces_with_its_reason_and_changes_nothing() {
    let mut app = spawn_app().await;
    app.login().await;
    upload_catalog(&app, "catalog.toml", CATALOG.as_bytes().to_vec()).await;
    let before = names(&app).await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "notes.txt",
            b"version = 1".to_vec(),
            "unexpected file extension for catalog upload: 'notes.txt' (expected .toml)",
        ),
        (
            "big.toml",
            vec![b'#'; 1024 * 1024 + 1],
            "catalog upload exceeded 1048576 bytes; is this actually a catalog.toml?",
        ),
        ("empty.toml", Vec::new(), "upload was empty"),
        (
            "v2.toml",
            b"version = 2\n".to_vec(),
            "catalog parse failed: ",
        ),
        (
            "broken.toml",
            b"version = 1\n[[images]\n".to_vec(),
            "catalog parse failed: ",
        ),
    ];
    for (filename, bytes, expected) in cases {
        let response = upload_catalog(&app, filename, bytes).await;
        let message = flash(&response).unwrap_or_else(|| panic!("{filename} was accepted"));
        assert!(message.starts_with(expected), "{filename}: {message}");
    }
    let no_file = app
        .client
        .post(app.url("/ui/catalog/upload"))
        .header(
            "cookie",
            format!("bty-token={}", app.cookie.clone().unwrap_or_default()),
        )
        .multipart(multipart::Form::new().text("other", "x"))
        .send()
        .await
        .expect("upload");
    assert_eq!(flash(&no_file).as_deref(), Some("no file in upload"));
    assert_eq!(names(&app).await, before, "rows untouched");
    let kept =
        std::fs::read_to_string(app.state_dir().join("catalog.toml")).expect("manifest file");
    assert_eq!(kept, CATALOG, "the previous catalog file is untouched");
}

#[tokio::test]
async fn the_import_forms_answer_401_like_the_api_without_a_session() {
    let app = spawn_app().await;
    for path in ["/ui/catalog/upload", "/ui/catalog/fetch-release"] {
        let response = app.client.post(app.url(path)).send().await.expect("POST");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn a_reimport_updates_existing_entries_instead_of_keeping_stale_values() {
    let mut app = spawn_app().await;
    app.login().await;
    let upstream = Upstream::start().await;
    upstream.put("/catalog.toml", CATALOG);
    let first: Value = import_report(&app, &upstream.url("/catalog.toml")).await;
    assert_eq!(
        (first["imported"].as_u64(), first["updated"].as_u64()),
        (Some(2), Some(0))
    );
    let changed = CATALOG
        .replace("rolling", "rolling, rebuilt")
        .replace(&"A".repeat(64), &"b".repeat(64));
    upstream.put("/catalog.toml", changed);
    let second: Value = import_report(&app, &upstream.url("/catalog.toml")).await;
    assert_eq!(second["imported"], 0);
    assert_eq!(second["updated"], 1);
    assert_eq!(second["skipped"], 1);
    let debian = entries(&app)
        .await
        .into_iter()
        .find(|r| r["name"] == "nosi debian (x86_64)")
        .expect("row");
    assert_eq!(debian["disk_image_sha"], "b".repeat(64));
    assert_eq!(debian["description"], "rolling, rebuilt");
}

#[tokio::test]
async fn one_bad_entry_does_not_stop_the_others() {
    let mut app = spawn_app().await;
    app.login().await;
    let upstream = Upstream::start().await;
    upstream.put(
        "/mixed.toml",
        "version = 1\n[[images]]\nname = \"bad\"\nsrc = \"ftp://h/x.img\"\n[[images]]\nname = \"good\"\nsrc = \"https://h/good.img\"\n[[images]]\nname = \"twin\"\nsrc = \"https://H:443/good.img\"\n",
    );
    let report: Value = import_report(&app, &upstream.url("/mixed.toml")).await;
    assert_eq!(report["imported"], 1);
    assert_eq!(report["errors"][0]["name"], "bad");
    assert_eq!(
        report["errors"][1]["name"], "twin",
        "the same source twice in one catalog"
    );
    assert_eq!(names(&app).await, ["good"]);
}

#[tokio::test]
async fn import_sources_are_limited_to_remote_urls_and_the_servers_own_folders() {
    let mut app = spawn_app().await;
    app.login().await;
    let inside = app.state_dir().join("mine.toml");
    std::fs::write(&inside, "version = 1\n").expect("write");
    let ok = import(&app, &inside.display().to_string()).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let outside = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(outside.path(), "version = 1\n").expect("write");
    for source in [
        outside.path().display().to_string(),
        "/etc/passwd".into(),
        "ftp://h/c.toml".into(),
    ] {
        let response = import(&app, &source).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{source}");
        let body: Value = response.json().await.expect("JSON");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with(&format!("failed to load catalog from '{source}'")),
            "{detail}"
        );
    }
    let missing = app.post_json("/catalog/import", &Value::Null).await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn fetch_release_pulls_the_configured_catalog_and_reports_each_failure() {
    let upstream = Upstream::start().await;
    let url = upstream.url("/releases/latest/download/catalog.toml");
    let release_url = url.clone();
    let mut app = spawn_app_with(move |s| s.release_catalog_url = Some(release_url)).await;
    app.login().await;
    let fetch = || async {
        app.post_json("/ui/catalog/fetch-release", &Value::Null)
            .await
    };

    let missing = flash(&fetch().await).expect("an error");
    assert!(
        missing.starts_with("release fetch failed: HTTP 404"),
        "{missing}"
    );
    upstream.put(
        "/releases/latest/download/catalog.toml",
        vec![b'#'; 1024 * 1024 + 1],
    );
    assert_eq!(
        flash(&fetch().await).as_deref(),
        Some("fetched catalog exceeded 1048576 bytes; release URL did not serve a catalog.toml")
    );
    upstream.put("/releases/latest/download/catalog.toml", Vec::new());
    assert_eq!(
        flash(&fetch().await).as_deref(),
        Some("fetched catalog was empty")
    );
    upstream.put("/releases/latest/download/catalog.toml", "version = 7\n");
    let parse = flash(&fetch().await).expect("an error");
    assert!(
        parse.starts_with("fetched catalog parse failed: "),
        "{parse}"
    );
    assert!(names(&app).await.is_empty());

    upstream.put("/releases/latest/download/catalog.toml", CATALOG);
    assert_eq!(flash(&fetch().await), None);
    assert_eq!(names(&app).await.len(), 2);
    // Idempotent: the same catalog again changes nothing.
    assert_eq!(flash(&fetch().await), None);
    let events: Value = app
        .get("/events?kind=catalog.entries.imported")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(events["events"][0]["details"]["skipped"], 2);
    assert_eq!(events["events"][0]["subject_id"], url);
}
