//! `oras://` sources through the whole server: add by URL, import of
//! entries without a sha, and a catalog stored in a registry, against a
//! real registry on 127.0.0.1.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{spawn_app_with, TestApp},
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
