//! Through nginx in front of two replicas: an upload streams through the
//! balancer and is live, hashed, on both; a session started through the
//! balancer works on each replica and ends on both; the live stream
//! passes through unbuffered.

use std::time::{Duration, Instant};

use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};

use crate::{
    balancer::Balancer,
    helpers::{session_cookie, sha256_hex, LiveStream, PASSWORD},
    replicas::Cluster,
    upstream_files::{content, FileUpstream},
};

/// Logs in through the balancer; the session cookie.
async fn login_through(balancer: &Balancer) -> String {
    let response = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(balancer.url("/ui/login"))
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login through nginx");
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "login");
    session_cookie(&response).expect("a session cookie")
}

/// Reads `live` until a catalog page lists `name` with `sha256`.
async fn wait_for_hashed_row(live: &mut LiveStream, name: &str, sha256: &str) {
    live.wait_for("the uploaded image, hashed", |event, data| {
        if event != "catalog" {
            return None;
        }
        let data: Value = serde_json::from_str(data).ok()?;
        data["rows"].as_array()?.iter().find(|row| {
            row["names"]
                .as_array()
                .is_some_and(|n| n.contains(&json!(name)))
                && row["sha256"] == sha256
        })?;
        Some(())
    })
    .await;
}

#[tokio::test]
async fn an_upload_through_the_balancer_is_live_and_hashed_on_both_replicas() {
    let cluster = Cluster::new().await;
    let mut a = cluster.start("replica-a").await;
    let mut b = cluster.start("replica-b").await;
    let balancer = Balancer::start(&[&a, &b]).await;
    let cookie = login_through(&balancer).await;
    a.cookie = Some(cookie.clone());
    b.cookie = Some(cookie.clone());
    let (mut live_a, mut live_b) = (a.live().await, b.live().await);

    // 40 MiB: more than nginx would hold in memory, streamed in chunks.
    let bytes = content(40 << 20, 7);
    let sha256 = sha256_hex(&bytes);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(1 << 20).map(|c| Ok(c.to_vec())).collect();
    let response = Client::new()
        .put(balancer.url("/images/balanced.img"))
        .header(header::COOKIE, format!("bty-token={cookie}"))
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .expect("upload through nginx");
    assert_eq!(response.status(), StatusCode::OK, "upload");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["sha256"], sha256);
    assert_eq!(body["size_bytes"], bytes.len() as u64);

    for (live, node) in [(&mut live_a, "replica-a"), (&mut live_b, "replica-b")] {
        tokio::time::timeout(
            Duration::from_secs(10),
            wait_for_hashed_row(live, "balanced.img", &sha256),
        )
        .await
        .unwrap_or_else(|_| panic!("{node}'s stream did not show the upload hashed"));
    }
    // The file is whole under its name, and nothing else is left beside it.
    let stored = std::fs::read(cluster.image_root().join("balanced.img")).expect("the file");
    assert_eq!(sha256_hex(&stored), sha256);
    let mut names: Vec<String> = std::fs::read_dir(cluster.image_root())
        .expect("image root")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["balanced.img", "balanced.img.sha256"]);
    for replica in [&a, &b] {
        let images = replica.json("/images").await;
        let offered = format!("/images/{sha256}/balanced.img");
        let listed = images.as_array().expect("a list").iter().any(|image| {
            image["name"] == "balanced.img"
                && image["url"].as_str().is_some_and(|u| u.ends_with(&offered))
        });
        assert!(
            listed,
            "{} offers the upload by its sha: {images}",
            replica.node
        );
    }
}

#[tokio::test]
async fn a_session_started_through_the_balancer_works_on_each_replica_and_ends_on_both() {
    let cluster = Cluster::new().await;
    let mut a = cluster.start("replica-a").await;
    let mut b = cluster.start("replica-b").await;
    let balancer = Balancer::start(&[&a, &b]).await;
    let cookie = login_through(&balancer).await;
    for replica in [&mut a, &mut b] {
        replica.cookie = Some(cookie.clone());
        let response = replica.get("/catalog/entries").await;
        assert_eq!(response.status(), StatusCode::OK, "{}", replica.node);
    }
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let logout = client
        .post(balancer.url("/ui/logout"))
        .header(header::COOKIE, format!("bty-token={cookie}"))
        .send()
        .await
        .expect("logout through nginx");
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    for replica in [&a, &b] {
        let response = replica.get("/catalog/entries").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            replica.node
        );
    }
}

#[tokio::test]
async fn the_live_stream_passes_through_the_balancer_unbuffered() {
    let cluster = Cluster::new().await;
    let mut a = cluster.start("replica-a").await;
    let b = cluster.start("replica-b").await;
    let balancer = Balancer::start(&[&a, &b]).await;
    let cookie = a.login().await;
    let upstream = FileUpstream::start(content(1000, 8)).await;
    let response = Client::new()
        .get(balancer.url("/events/live"))
        .header(header::COOKIE, format!("bty-token={cookie}"))
        .send()
        .await
        .expect("live stream through nginx");
    assert_eq!(response.status(), StatusCode::OK);
    let mut live = LiveStream::from_response(response);
    let (first, _) = live.next_event().await.expect("a first event");
    assert_eq!(first, "snapshot");

    let added = Instant::now();
    let response = a
        .post_json(
            "/catalog/entries",
            &json!({"image_url": upstream.url("/through-nginx.img")}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    tokio::time::timeout(
        Duration::from_secs(1),
        live.wait_for("the added entry's event", |event, data| {
            (event == "event" && data.contains("through-nginx.img")).then_some(())
        }),
    )
    .await
    .expect("the event arrives through nginx within a second");
    assert!(added.elapsed() < Duration::from_secs(1));
    drop(b);
}
