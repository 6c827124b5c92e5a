//! The open read routes flash clients use: `GET /images` and
//! `GET /catalog.toml`, with no login, every URL on this server (from
//! `BTY_PUBLIC_URL` or the Host header), local files once hashed, remote
//! images cached or not, and in `/catalog.toml` only rows with a sha.

use reqwest::{header, StatusCode};
use serde_json::Value;
use server::{
    audit::Actor,
    catalog::{
        identity::image_ref_for_src,
        import,
        manifest::{self, Manifest, ManifestEntry},
    },
};

use crate::helpers::{sha256_hex, spawn_app, spawn_app_with, TestApp};

/// `GET /images` as a client without a session sees it.
pub(crate) async fn listing(app: &TestApp) -> Vec<Value> {
    let response = app
        .client
        .get(app.url("/images"))
        .send()
        .await
        .expect("GET /images");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("a JSON array")
}

/// The entry `GET /images` gives for `name`, if any.
pub(crate) async fn listed(app: &TestApp, name: &str) -> Option<Value> {
    listing(app)
        .await
        .into_iter()
        .find(|entry| entry["name"] == name)
}

/// `GET /catalog.toml` as a client without a session sees it, parsed.
pub(crate) async fn catalog_toml(app: &TestApp) -> Vec<ManifestEntry> {
    let response = app
        .client
        .get(app.url("/catalog.toml"))
        .send()
        .await
        .expect("GET /catalog.toml");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes().await.expect("body");
    manifest::parse(&body, "GET /catalog.toml")
        .expect("the catalog parses")
        .entries
}

/// Waits until `GET /images` lists `name`; returns its entry.
async fn wait_until_listed(app: &TestApp, name: &str) -> Value {
    app.eventually(60, &format!("{name} to be listed"), || async {
        listed(app, name).await
    })
    .await
}

/// Adds a catalog row for a remote image by importing a one-entry catalog
/// through the catalog service, which tells open pages itself.
async fn insert_remote_row(app: &TestApp, name: &str, src: &str, sha: Option<&str>) {
    let manifest = Manifest {
        entries: vec![ManifestEntry {
            name: name.to_owned(),
            src: src.to_owned(),
            sha256: sha.map(str::to_owned),
            format: Some("img.xz".to_owned()),
            size_bytes: Some(4096),
            ..Default::default()
        }],
    };
    let report = import::import(&app.state.catalog, &manifest, "test", &Actor::system())
        .await
        .expect("import a catalog row");
    assert_eq!(report.imported, 1, "{report:?}");
}

#[tokio::test]
async fn the_listing_and_the_catalog_are_open_and_empty_at_first() {
    let app = spawn_app().await;
    assert!(listing(&app).await.is_empty());

    let response = app.get("/catalog.toml").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/toml");
    assert_eq!(response.text().await.expect("body"), "version = 1\n");
}

#[tokio::test]
async fn a_hashed_file_is_listed_with_a_url_on_this_server() {
    let app = spawn_app().await;
    let data = b"a flashable disk".repeat(64);
    app.write_image("my disk (v2).img", &data);
    let entry = wait_until_listed(&app, "my disk (v2).img").await;

    let sha = sha256_hex(&data);
    assert_eq!(
        entry["url"],
        format!("{}/images/{sha}/my%20disk%20%28v2%29.img", app.address)
    );
    assert_eq!(
        entry["ref"],
        image_ref_for_src("file://my disk (v2).img").expect("ref")
    );
    assert_eq!(entry["sha_short"], &sha[..12]);
    assert_eq!(entry["cached"], true);
    assert_eq!(entry["format"], "img");
    assert_eq!(entry["size_bytes"], data.len());
}

#[tokio::test]
async fn an_unhashed_file_is_not_listed_but_a_remote_image_without_a_sha_is() {
    let mut app = spawn_app().await;
    app.login().await;
    let src = "https://example.test/pending.img.xz";
    insert_remote_row(&app, "pending.img.xz", src, None).await;
    app.write_image("fresh.img", b"not hashed yet");
    let listed_now = listing(&app).await;
    // The file may be hashed by now; only while its row has no SHA must it
    // stay out of the listing. A SHA is never taken away from a row that
    // did not change, so a row unhashed after the listing was unhashed during it.
    let row = app.catalog_row("fresh.img").await;
    if row.is_some_and(|row| row.sha256.is_none()) {
        assert!(listed_now.iter().all(|entry| entry["name"] != "fresh.img"));
    }
    let image_ref = image_ref_for_src(src).expect("ref");
    let pending = listed_now
        .iter()
        .find(|entry| entry["name"] == "pending.img.xz")
        .expect("the remote image is offered before its sha is known");
    assert_eq!(
        pending["url"],
        format!("{}/images/{image_ref}/pending.img.xz", app.address)
    );
    assert_eq!(pending["ref"], image_ref);
    assert_eq!(pending["sha_short"], Value::Null);
    assert_eq!(pending["cached"], false);
    assert_eq!(pending["format"], "img.xz");
    assert_eq!(pending["size_bytes"], 4096);

    wait_until_listed(&app, "fresh.img").await;
    let names: Vec<Value> = listing(&app)
        .await
        .into_iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, ["fresh.img", "pending.img.xz"], "hashed rows first");
    // The bty client needs a sha: only the hashed file is in the catalog.
    let written: Vec<String> = catalog_toml(&app)
        .await
        .into_iter()
        .map(|entry| entry.name)
        .collect();
    assert_eq!(written, ["fresh.img"]);
}

#[tokio::test]
async fn urls_start_with_the_public_url_when_one_is_configured() {
    let app = spawn_app_with(|settings| {
        settings.public_url = Some("https://bty.example.org/".into());
    })
    .await;
    app.write_image("disk.img", b"public bytes");
    let entry = wait_until_listed(&app, "disk.img").await;
    assert_eq!(
        entry["url"],
        format!(
            "https://bty.example.org/images/{}/disk.img",
            sha256_hex(b"public bytes")
        )
    );
}

#[tokio::test]
async fn urls_follow_the_host_header_without_a_public_url() {
    let app = spawn_app().await;
    app.write_image("disk.img", b"host bytes");
    wait_until_listed(&app, "disk.img").await;
    let listed: Vec<Value> = app
        .client
        .get(app.url("/images"))
        .header(header::HOST, "bty.lan:8080")
        .send()
        .await
        .expect("GET /images")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        listed[0]["url"],
        format!(
            "http://bty.lan:8080/images/{}/disk.img",
            sha256_hex(b"host bytes")
        )
    );
}

#[tokio::test]
async fn an_uncached_pinned_image_is_offered_through_this_server_not_its_upstream() {
    let app = spawn_app().await;
    let sha = "c".repeat(64);
    let src = "https://example.test/images/remote.img.xz";
    insert_remote_row(&app, "remote.img.xz", src, Some(&sha)).await;
    let image_ref = image_ref_for_src(src).expect("ref");
    let stream_url = format!("{}/images/{image_ref}/remote.img.xz", app.address);
    let entry = wait_until_listed(&app, "remote.img.xz").await;
    assert_eq!(entry["url"], stream_url);
    assert_eq!(entry["cached"], false);
    assert_eq!(entry["sha_short"], &sha[..12]);
    assert_eq!(entry["ref"], image_ref);
    assert_eq!(entry["format"], "img.xz");
    assert_eq!(entry["size_bytes"], 4096);
    let written = catalog_toml(&app).await;
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].src, stream_url, "the same URL as /images");
    assert_eq!(written[0].sha256.as_deref(), Some(sha.as_str()));

    // Once the download cache holds the bytes, they are offered by sha.
    let cache_dir = app.state.settings.cache_dir();
    std::fs::create_dir_all(&cache_dir).expect("cache dir");
    std::fs::write(cache_dir.join(&sha), b"cached bytes").expect("cache file");
    // What the download worker does after filling the cache.
    app.state.cache.changed().await;
    let entry = wait_until_listed(&app, "remote.img.xz").await;
    assert_eq!(entry["cached"], true);
    let sha_url = format!("{}/images/{sha}/remote.img.xz", app.address);
    assert_eq!(entry["url"], sha_url);
    assert_eq!(catalog_toml(&app).await[0].src, sha_url);
}

#[tokio::test]
async fn a_removed_file_disappears_from_the_listing_and_the_catalog() {
    let app = spawn_app().await;
    let path = app.write_image("gone.img", b"soon gone");
    wait_until_listed(&app, "gone.img").await;
    std::fs::remove_file(path).expect("remove");
    app.eventually(30, "gone.img to be unlisted", || async {
        listing(&app).await.is_empty().then_some(())
    })
    .await;
    let body = app.get("/catalog.toml").await.text().await.expect("body");
    assert_eq!(body, "version = 1\n");
}

#[tokio::test]
async fn the_catalog_round_trips_awkward_names_through_the_manifest_parser() {
    let app = spawn_app().await;
    let local_names = ["with space.img", "ünïcødé 日本.qcow2", "say \"hi\" #1.img"];
    for name in local_names {
        app.write_image(name, name.as_bytes());
    }
    let remote = [
        (
            "nested/dir/remote.img.xz",
            "https://example.test/a.img.xz",
            'a',
        ),
        (
            "quote \" and \\ back.img.xz",
            "https://example.test/b.img.xz",
            'b',
        ),
        ("line\nbreak.img.xz", "https://example.test/c.img.xz", 'c'),
    ];
    // The local files are hashed first: on SQLite an import whose
    // transaction overlaps a hash's write fails with "database is locked",
    // a gap of the import this test is not about.
    for name in local_names {
        wait_until_listed(&app, name).await;
    }
    for (name, src, sha) in remote {
        insert_remote_row(&app, name, src, Some(&sha.to_string().repeat(64))).await;
    }
    // A newer, different image under a name already taken: only the first
    // is written.
    insert_remote_row(
        &app,
        "with space.img",
        "https://example.test/other.img",
        Some(&"f".repeat(64)),
    )
    .await;

    let written = catalog_toml(&app).await;

    let images = listing(&app).await;
    let mut expected: Vec<(String, String, String)> = local_names
        .iter()
        .map(|name| {
            let sha = sha256_hex(name.as_bytes());
            let url = images
                .iter()
                .find(|entry| entry["name"] == *name && entry["cached"] == true)
                .and_then(|entry| entry["url"].as_str())
                .expect("the file's listing URL")
                .to_owned();
            ((*name).to_owned(), url, sha)
        })
        .chain(remote.iter().map(|(name, src, sha)| {
            // Not cached: this server's stream-through URL of the entry.
            let url = images
                .iter()
                .find(|entry| entry["name"] == *name)
                .and_then(|entry| entry["url"].as_str())
                .expect("the remote image's listing URL")
                .to_owned();
            let stream_prefix = format!(
                "{}/images/{}/",
                app.address,
                image_ref_for_src(src).expect("ref")
            );
            assert!(url.starts_with(&stream_prefix), "{url}");
            ((*name).to_owned(), url, sha.to_string().repeat(64))
        }))
        .collect();
    let mut written_rows: Vec<(String, String, String)> = written
        .iter()
        .map(|entry| {
            (
                entry.name.clone(),
                entry.src.clone(),
                entry.sha256.clone().expect("every written entry has a sha"),
            )
        })
        .collect();
    expected.sort();
    written_rows.sort();
    assert_eq!(written_rows, expected);

    let local = written
        .iter()
        .find(|entry| entry.name == "with space.img")
        .expect("the local file");
    assert_eq!(
        local.src,
        format!(
            "{}/images/{}/with%20space.img",
            app.address,
            sha256_hex(b"with space.img")
        )
    );
    assert_eq!(local.format.as_deref(), Some("img"));
    assert_eq!(local.size_bytes, Some("with space.img".len() as i64));
}
