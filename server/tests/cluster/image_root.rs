//! The shared image root: one replica reconciles it, a file dropped there
//! is listed (hashed) on every replica, and when the reconciling replica is
//! killed another takes over.

use serde_json::Value;

use crate::{
    helpers::sha256_hex,
    replicas::{eventually, Cluster, Replica},
};

/// The sha `GET /images` lists for `name` on `replica`, once hashed.
async fn listed_sha(replica: &Replica, name: &str) -> Option<String> {
    let images = replica.json("/images").await;
    let row = images
        .as_array()?
        .iter()
        .find(|i| i["name"] == name)?
        .clone();
    row["sha_short"].as_str().map(str::to_owned)
}

async fn wait_until_listed_everywhere(replicas: &[&Replica], name: &str, bytes: &[u8]) {
    let sha = sha256_hex(bytes);
    for replica in replicas {
        let listed = eventually(30, &format!("{name} listed on {}", replica.node), || {
            listed_sha(replica, name)
        })
        .await;
        assert_eq!(listed, sha[..12], "{}", replica.node);
    }
}

fn hashed_events_for(events: &[Value], name: &str) -> usize {
    events.iter().filter(|e| e["subject_id"] == name).count()
}

#[tokio::test]
async fn a_dropped_file_is_listed_on_both_replicas_and_the_reconciler_fails_over() {
    let cluster = Cluster::new().await;
    // Started first, so it leads.
    let (mut a, b) = cluster.logged_in_pair().await;

    let first = b"dropped while replica-a leads".repeat(1000);
    std::fs::write(cluster.image_root().join("first.img"), &first).expect("drop a file");
    wait_until_listed_everywhere(&[&a, &b], "first.img", &first).await;
    let hashed = b.events_of_kind("image.hashed").await;
    assert_eq!(
        hashed_events_for(&hashed, "first.img"),
        1,
        "hashed once: {hashed:?}"
    );

    a.kill();
    let second = b"dropped after replica-a died".repeat(1000);
    std::fs::write(cluster.image_root().join("second.img"), &second).expect("drop a file");
    wait_until_listed_everywhere(&[&b], "second.img", &second).await;
    let hashed = b.events_of_kind("image.hashed").await;
    assert_eq!(
        hashed_events_for(&hashed, "second.img"),
        1,
        "hashed once: {hashed:?}"
    );
    assert_eq!(
        hashed_events_for(&hashed, "first.img"),
        1,
        "not hashed again"
    );
    let health = b.json("/healthz").await;
    assert_eq!(health["node"], "replica-b");
}
