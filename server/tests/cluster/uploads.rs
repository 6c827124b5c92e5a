//! `kill -9` of a replica in the middle of an upload: nothing becomes
//! visible on either replica, and the temporary file it left is swept by a
//! later start once it is old enough not to be another replica's upload.

use std::time::{Duration, SystemTime};

use futures::StreamExt;
use reqwest::{header, StatusCode};

use crate::replicas::{eventually, Cluster};

/// The temporary files in `dir` (ours: hidden, ending `.bty-partial`).
fn temporary_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy();
                    name.starts_with('.') && name.ends_with(".bty-partial")
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_replica_killed_mid_upload_leaves_nothing_visible_and_its_leftover_is_swept() {
    let cluster = Cluster::new().await;
    let mut a = cluster.start("replica-a").await;
    let mut b = cluster.start("replica-b").await;
    let cookie = a.login().await;
    b.cookie = Some(cookie.clone());

    // The body comes from a channel the test feeds: 16 MiB, then nothing
    // until the replica is dead.
    let (feed, body) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let body = futures::stream::unfold(body, |mut body| async move {
        let chunk = body.recv().await?;
        Some((Ok::<_, std::io::Error>(chunk), body))
    })
    .boxed();
    let upload = tokio::spawn({
        let url = a.url("/images/cut.img");
        async move {
            reqwest::Client::new()
                .put(url)
                .header(header::COOKIE, format!("bty-token={cookie}"))
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
        }
    });
    for _ in 0..16 {
        feed.send(vec![0x5a; 1 << 20]).await.expect("feed");
    }
    let root = cluster.image_root();
    let leftover = eventually(30, "the upload's temporary file to hold 4 MiB", || {
        let root = root.clone();
        async move {
            temporary_files(&root)
                .into_iter()
                .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() >= 4 << 20))
        }
    })
    .await;
    a.kill();
    drop(feed);
    let answered = upload.await.expect("the upload task");
    assert!(
        answered.is_err()
            || answered
                .as_ref()
                .is_ok_and(|r| r.status() != StatusCode::OK),
        "a killed replica cannot have accepted the upload: {answered:?}"
    );

    // Nothing under the name, on disk or in either listing.
    assert!(!root.join("cut.img").exists());
    let images = b.json("/images").await;
    let listed = images
        .as_array()
        .expect("a list")
        .iter()
        .any(|image| image["name"] == "cut.img");
    assert!(!listed, "the cut upload is not offered: {images}");
    let rows = b.json("/catalog/view").await;
    assert!(!rows.to_string().contains("cut.img"), "{rows}");

    // A start soon after keeps it (it might be another replica's upload
    // under way); once it is older than the shared sweep's 15 minutes, a
    // start removes it.
    let a = cluster.start("replica-a").await;
    assert!(leftover.exists(), "a fresh temporary file is kept");
    drop(a);
    let old = SystemTime::now() - Duration::from_secs(16 * 60);
    std::fs::File::options()
        .write(true)
        .open(&leftover)
        .and_then(|f| f.set_modified(old))
        .expect("age the leftover");
    let _a = cluster.start("replica-a").await;
    assert!(!leftover.exists(), "the start swept the abandoned upload");
    assert_eq!(temporary_files(&root), Vec::<std::path::PathBuf>::new());
}
