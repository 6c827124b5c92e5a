//! `oras://` sources through the whole server: add by URL, import of
//! entries without a sha, a catalog stored in a registry, and an entry
//! offered to flash clients before its digest is known, against a real
//! registry on 127.0.0.1.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::{
    helpers::{sha256_hex, spawn_app_with, TestApp},
    listing::{catalog_toml, listed},
    registry::{start_registry, Registry},
};

async fn app_for(registry: &Registry) -> TestApp {
    let host = registry.host.clone();
    let mut app = spawn_app_with(move |s| s.oras_insecure_registries = vec![host]).await;
    app.login().await;
    app
}

#[tokio::test]
async fn an_oras_image_is_added_with_its_layer_digest_title_and_size() {
    let registry = start_registry().await;
    let pushed = registry.push_disk_image("nosi/debian", "latest").await;
    let app = app_for(&registry).await;
    let url = registry.oras("nosi/debian:latest");
    let response = app
        .post_json("/catalog/entries", &json!({"image_url": url}))
        .await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["disk_image_sha"], pushed.disk.hex());
    assert_eq!(
        body["name"], "debian.img.gz",
        "the layer's title, not the .sha256 layer"
    );
    assert_eq!(body["format"], "img.gz");
    assert_eq!(body["sha_url"], Value::Null);
    let events: Value = app
        .get("/events?kind=catalog.entry.added")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(events["events"][0]["details"]["oras"], true);
}

#[tokio::test]
async fn a_missing_tag_is_a_400_and_logged() {
    let registry = start_registry().await;
    registry.push_disk_image("nosi/debian", "latest").await;
    let app = app_for(&registry).await;
    let url = registry.oras("nosi/debian:nope");
    let response = app
        .post_json("/catalog/entries", &json!({"image_url": url}))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let detail = response.json::<Value>().await.expect("JSON")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.starts_with("could not resolve oras ref: "),
        "{detail}"
    );
    let failed: Value = app
        .get("/events?kind=catalog.entry.add_failed")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(failed["events"][0]["subject_id"], url);
}

#[tokio::test]
async fn importing_resolves_oras_entries_without_a_sha_and_reads_catalogs_from_a_registry() {
    let registry = start_registry().await;
    let pushed = registry.push_disk_image("nosi/debian", "latest").await;
    let catalog = format!(
        "version = 1\n[[images]]\nname = \"debian (rolling)\"\nsrc = \"{}\"\nformat = \"img.gz\"\n[[images]]\nname = \"gone\"\nsrc = \"{}\"\n",
        registry.oras("nosi/debian:latest"),
        registry.oras("nosi/debian:missing"),
    );
    let layer = registry.push_blob("bty/catalog", catalog.as_bytes()).await;
    registry
        .push_artifact(
            "bty/catalog",
            "v1",
            vec![layer.layer("application/toml", Some("catalog.toml"))],
        )
        .await;
    let app = app_for(&registry).await;
    let source = registry.oras("bty/catalog:v1");
    let response = app
        .post_json(&format!("/catalog/import?source={source}"), &Value::Null)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.expect("JSON");
    assert_eq!(report["imported"], 2);
    assert_eq!(
        report["errors"][0]["name"], "gone",
        "kept without a sha, and said why"
    );
    let entries: Vec<Value> = app
        .get("/catalog/entries")
        .await
        .json()
        .await
        .expect("JSON");
    let debian = entries
        .iter()
        .find(|e| e["name"] == "debian (rolling)")
        .expect("row");
    assert_eq!(debian["disk_image_sha"], pushed.disk.hex());
    let gone = entries.iter().find(|e| e["name"] == "gone").expect("row");
    assert_eq!(gone["disk_image_sha"], Value::Null);
}

#[tokio::test]
async fn an_oras_entry_without_a_sha_is_offered_here_and_its_first_flash_back_fills_it() {
    let registry = start_registry().await;
    let app = app_for(&registry).await;
    // The tag is not there yet when the catalog is imported: the entry is
    // kept without a sha.
    let src = registry.oras("nosi/later:latest");
    let toml = format!("version = 1\n\n[[images]]\nname = \"later.img.gz\"\nsrc = \"{src}\"\n");
    crate::downloads::upload_catalog(&app, toml).await;
    let row = app.catalog_row("later.img.gz").await.expect("row");
    assert_eq!(row.sha256, None);

    let entry = listed(&app, "later.img.gz").await.expect("offered");
    let stream_url = app.url(&format!("/images/{}/later.img.gz", row.image_ref));
    assert_eq!(entry["url"], stream_url);
    assert_eq!(entry["sha_short"], Value::Null);
    assert_eq!(entry["cached"], false);
    assert!(catalog_toml(&app).await.is_empty());

    let pushed = registry.push_disk_image("nosi/later", "latest").await;
    let response = app.client.get(&stream_url).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes().await.expect("the whole body");
    assert_eq!(sha256_hex(&body), pushed.disk.hex(), "the layer's bytes");

    let digest = pushed.disk.hex().to_owned();
    let entry = app
        .eventually(10, "the entry offered from the cache", || async {
            listed(&app, "later.img.gz")
                .await
                .filter(|e| e["cached"] == true)
        })
        .await;
    let sha_url = app.url(&format!("/images/{digest}/later.img.gz"));
    assert_eq!(entry["url"], sha_url);
    assert_eq!(entry["sha_short"], &digest[..12]);
    let row = app.catalog_row("later.img.gz").await.expect("row");
    assert_eq!(row.sha256.as_deref(), Some(digest.as_str()), "back-filled");
    assert!(row.rolling, "a tag: observed, not pinned");
    let written = catalog_toml(&app).await;
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].src, sha_url);
    assert_eq!(written[0].sha256.as_deref(), Some(digest.as_str()));
    let again = app.client.get(&sha_url).send().await.expect("GET");
    assert_eq!(again.headers()[header::ETAG], format!("\"{digest}\""));
}
