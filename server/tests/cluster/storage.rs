//! The object store (`BTY_STORAGE_URL=s3://…`) against a real Garage on
//! 127.0.0.1 (`scripts/garage.sh`, which prints the `BTY_TEST_S3_*`
//! variables these tests read): an object appears only once whole, hashed
//! as it streamed and readable by range; a cut upload leaves nothing and
//! is aborted; one a dead replica left is aborted by the next start's sweep.

use std::time::Duration;

use futures::TryStreamExt;
use server::{
    settings::S3Settings,
    storage::{ObjectStorage, Stored},
};

use crate::{
    helpers::sha256_hex,
    replicas::{eventually, Cluster},
    upstream_files::content,
};

const MIB: usize = 1024 * 1024;

fn required(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "the object-store tests need a Garage server: set {name} and the other \
                 BTY_TEST_S3_* variables, e.g. `eval \"$(scripts/garage.sh start /tmp/garage)\"` \
                 and export them"
            )
        })
}

/// The test bucket, under a prefix of this test's own.
fn s3_settings() -> S3Settings {
    S3Settings {
        bucket: required("BTY_TEST_S3_BUCKET"),
        prefix: format!(
            "test-{}",
            server::auth::password::random_hex(6).expect("random")
        ),
        endpoint: Some(required("BTY_TEST_S3_ENDPOINT")),
        region: required("BTY_TEST_S3_REGION"),
        access_key_id: Some(required("BTY_TEST_S3_ACCESS_KEY_ID")),
        secret_access_key: Some(required("BTY_TEST_S3_SECRET_ACCESS_KEY")),
    }
}

/// A store on a fresh migrated database, as replica `node` sees it.
async fn storage(cluster: &Cluster, settings: &S3Settings, node: &str) -> ObjectStorage {
    let db = server::db::connect(&cluster.database_url)
        .await
        .expect("the database, migrated");
    ObjectStorage::connect(settings, db, node).expect("the object store")
}

async fn keys(storage: &ObjectStorage) -> Vec<String> {
    let mut keys: Vec<String> = storage
        .list("")
        .await
        .expect("a listing")
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    keys.sort();
    keys
}

async fn read(storage: &ObjectStorage, key: &str, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let chunks: Vec<bytes::Bytes> = storage
        .read(key, range)
        .await
        .expect("a read")
        .try_collect()
        .await
        .expect("the bytes");
    chunks.concat()
}

#[tokio::test]
async fn an_upload_is_invisible_until_whole_then_hashed_and_read_by_range() {
    let cluster = Cluster::new().await;
    let settings = s3_settings();
    let storage = storage(&cluster, &settings, "replica-a").await;
    // Three parts: 8 MiB, 8 MiB and the rest.
    let bytes = content(20 * MIB + 123, 31);
    let mut upload = storage
        .start_upload("images/disk.img")
        .await
        .expect("started");
    for chunk in bytes[..17 * MIB].chunks(64 * 1024) {
        upload.write(chunk).await.expect("written");
    }
    assert_eq!(storage.head("images/disk.img").await.expect("head"), None);
    assert!(keys(&storage).await.is_empty(), "nothing visible mid-way");
    assert_eq!(storage.uploads_recorded().await.expect("rows").len(), 1);
    for chunk in bytes[17 * MIB..].chunks(64 * 1024) {
        upload.write(chunk).await.expect("written");
    }
    let stored = upload.finish().await.expect("finished");

    assert_eq!(
        stored,
        Stored {
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64
        }
    );
    assert_eq!(keys(&storage).await, ["images/disk.img"]);
    let meta = storage
        .head("images/disk.img")
        .await
        .expect("head")
        .expect("the object");
    assert_eq!(meta.size, bytes.len() as u64);
    assert!(read(&storage, "images/disk.img", None).await == bytes);
    let across = (8 * MIB - 10) as u64..(8 * MIB + 10) as u64;
    assert_eq!(
        read(&storage, "images/disk.img", Some(across.clone())).await,
        bytes[8 * MIB - 10..8 * MIB + 10]
    );
    assert!(storage.uploads_recorded().await.expect("rows").is_empty());

    storage.delete("images/disk.img").await.expect("deleted");
    assert!(keys(&storage).await.is_empty());
}

#[tokio::test]
async fn an_empty_upload_is_an_empty_object_with_the_empty_digest() {
    let cluster = Cluster::new().await;
    let storage = storage(&cluster, &s3_settings(), "replica-a").await;
    let upload = storage
        .start_upload("images/empty.img")
        .await
        .expect("started");
    let stored = upload.finish().await.expect("finished");
    assert_eq!(stored.sha256, sha256_hex(b""));
    assert_eq!(stored.bytes, 0);
    assert_eq!(keys(&storage).await, ["images/empty.img"]);
    assert!(read(&storage, "images/empty.img", None).await.is_empty());
    assert!(storage.uploads_recorded().await.expect("rows").is_empty());
}

#[tokio::test]
async fn a_cut_upload_leaves_nothing_visible_and_is_aborted() {
    let cluster = Cluster::new().await;
    let storage = storage(&cluster, &s3_settings(), "replica-a").await;
    let mut upload = storage
        .start_upload("images/cut.img")
        .await
        .expect("started");
    for chunk in content(9 * MIB, 32).chunks(64 * 1024) {
        upload.write(chunk).await.expect("written");
    }
    let recorded = storage.uploads_recorded().await.expect("rows");
    assert_eq!(recorded.len(), 1);
    let (key, upload_id) = recorded[0].clone();
    assert!(storage.upload_is_open(&key, &upload_id).await);

    // As when the client goes away: the upload is dropped unfinished.
    drop(upload);
    eventually(10, "the cut upload to be aborted", || async {
        storage.uploads_recorded().await.ok().filter(Vec::is_empty)
    })
    .await;
    assert!(!storage.upload_is_open(&key, &upload_id).await);
    assert_eq!(storage.head("images/cut.img").await.expect("head"), None);
    assert!(keys(&storage).await.is_empty());
}

#[tokio::test]
async fn an_upload_a_dead_replica_left_is_aborted_when_it_starts_again() {
    let cluster = Cluster::new().await;
    let settings = s3_settings();
    let storage_a = storage(&cluster, &settings, "replica-a").await;
    let mut upload = storage_a
        .start_upload("images/left.img")
        .await
        .expect("started");
    for chunk in content(9 * MIB, 33).chunks(64 * 1024) {
        upload.write(chunk).await.expect("written");
    }
    // Killed mid-upload: no abort, the record stays.
    upload.abandon();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let recorded = storage_a.uploads_recorded().await.expect("rows");
    assert_eq!(recorded.len(), 1);
    let (key, upload_id) = recorded[0].clone();
    assert!(storage_a.upload_is_open(&key, &upload_id).await);

    // Another replica starting leaves a fresh upload alone: it may be one
    // under way on a live replica.
    let storage_b = storage(&cluster, &settings, "replica-b").await;
    assert_eq!(storage_b.sweep_abandoned_uploads().await.expect("swept"), 0);
    assert!(storage_b.upload_is_open(&key, &upload_id).await);

    // The dead replica, started again under its name, aborts its own.
    let restarted = storage(&cluster, &settings, "replica-a").await;
    assert_eq!(restarted.sweep_abandoned_uploads().await.expect("swept"), 1);
    assert!(!restarted.upload_is_open(&key, &upload_id).await);
    assert!(restarted.uploads_recorded().await.expect("rows").is_empty());
    assert!(keys(&restarted).await.is_empty());
}
