//! Jobs run exactly once across replicas: one download asked of either
//! (or of both at once) runs on one of them, live on both; when the
//! replica running it is killed, the other takes it over after the lease
//! and finishes it; a cancel asked of the other stops it.

use std::time::Duration;

use app::model::JobKind;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use server::db::entity::job::{self, Entity as Jobs};

use crate::{
    helpers::sha256_hex,
    replicas::{eventually, Cluster, Replica},
    upstream_files::{content, FileUpstream},
};

const MIB: usize = 1024 * 1024;

/// Every download job row.
async fn download_jobs(cluster: &Cluster) -> Vec<job::Model> {
    Jobs::find()
        .filter(job::Column::Kind.eq(JobKind::Download))
        .all(&cluster.db)
        .await
        .expect("job rows")
}

async fn download_state(replica: &Replica, name: &str) -> Option<Value> {
    replica.json("/catalog/downloads").await["downloads"]
        .as_array()?
        .iter()
        .find(|d| d["name"] == name)
        .cloned()
}

/// The job event of `name`'s download that `accept` takes, from a stream.
fn job_of<'a>(
    name: &'a str,
    accept: impl Fn(&Value) -> bool + 'a,
) -> impl FnMut(&str, &str) -> Option<Value> + 'a {
    move |event, data| {
        let job: Value = (event == "job").then(|| serde_json::from_str(data).ok())??;
        (job["kind"] == "download" && job["name"] == name && accept(&job)).then_some(job)
    }
}

#[tokio::test]
async fn one_download_runs_once_on_two_replicas_and_its_progress_is_live_on_both() {
    let cluster = Cluster::new().await;
    let (a, b) = cluster.logged_in_pair().await;
    let bytes = content(4 * MIB, 21);
    let total = bytes.len() as u64;
    let upstream = FileUpstream::start(bytes.clone()).await;
    // 64 chunks, 40 ms apart: progress reports have time to show.
    upstream.throttle(Some(Duration::from_millis(40)));
    let name = a.add_url(&upstream.url("/disk.img")).await;
    let mut live_a = a.live().await;
    let mut live_b = b.live().await;

    let response = b
        .post_json("/catalog/downloads", &json!({"name": name}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    for live in [&mut live_a, &mut live_b] {
        let partway = |job: &Value| {
            job["status"] == "running"
                && job["bytes_done"]
                    .as_u64()
                    .is_some_and(|done| done > 0 && done < total)
        };
        live.wait_for("progress of the download", job_of(&name, partway))
            .await;
    }
    let sha = sha256_hex(&bytes);
    for live in [&mut live_a, &mut live_b] {
        let done = live
            .wait_for(
                "the download to complete",
                job_of(&name, |job| job["status"] == "completed"),
            )
            .await;
        assert_eq!(done["sha256"], sha);
    }

    let gets = upstream.gets();
    assert_eq!(gets.len(), 1, "one transfer, from one replica: {gets:?}");
    assert_eq!(gets[0].range, None);
    for replica in [&a, &b] {
        assert_eq!(
            replica
                .events_of_kind("catalog.download.started")
                .await
                .len(),
            1
        );
        assert_eq!(
            replica
                .events_of_kind("catalog.download.completed")
                .await
                .len(),
            1
        );
    }
    let cached = std::fs::read(cluster.cache_dir().join(&sha)).expect("the cached image");
    assert!(cached == bytes, "the cached bytes are the upstream's");
    let rows = download_jobs(&cluster).await;
    assert_eq!(rows.len(), 1, "one job row");
}

#[tokio::test]
async fn a_download_whose_replica_is_killed_is_finished_by_the_other_after_its_lease() {
    let cluster = Cluster::new().await;
    let (a, b) = cluster.logged_in_pair().await;
    let bytes = content(8 * MIB, 22);
    let upstream = FileUpstream::start(bytes.clone()).await;
    // 128 chunks, 40 ms apart: about five seconds, most of it after the kill.
    upstream.throttle(Some(Duration::from_millis(40)));
    let name = a.add_url(&upstream.url("/big.img")).await;
    let response = a
        .post_json("/catalog/downloads", &json!({"name": name}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // Whoever claimed it, once a megabyte of it is on disk.
    let runner = runner_of_the_download(&cluster).await;
    let (mut killed, survivor) = if runner == a.node { (a, b) } else { (b, a) };
    assert_eq!(runner, killed.node);
    killed.kill();

    let done = eventually(60, "the other replica to finish the download", || async {
        download_state(&survivor, &name)
            .await
            .filter(|state| state["status"] == "completed")
    })
    .await;
    let sha = sha256_hex(&bytes);
    assert_eq!(done["sha256"], sha);
    let cached = std::fs::read(cluster.cache_dir().join(&sha)).expect("the cached image");
    assert!(cached == bytes, "the cached bytes are the upstream's");
    let row = Jobs::find()
        .filter(job::Column::Kind.eq(JobKind::Download))
        .one(&cluster.db)
        .await
        .expect("job row")
        .expect("one job");
    assert_eq!(row.claimed_by.as_deref(), Some(survivor.node.as_str()));

    // The survivor resumed from the bytes the killed replica left.
    let gets = upstream.gets();
    assert_eq!(gets.len(), 2, "{gets:?}");
    let resumed_at = gets[1]
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|from| from.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("a range request: {gets:?}"));
    assert!(resumed_at > 0 && resumed_at < bytes.len(), "{gets:?}");
    assert_eq!(
        survivor
            .events_of_kind("catalog.download.completed")
            .await
            .len(),
        1
    );
    assert!(survivor
        .events_of_kind("catalog.download.failed")
        .await
        .is_empty());
}

/// Waits until a download job is claimed with a megabyte on disk; its
/// replica's name.
async fn runner_of_the_download(cluster: &Cluster) -> String {
    eventually(30, "the download to be claimed and under way", || async {
        let row = Jobs::find()
            .filter(job::Column::Kind.eq(JobKind::Download))
            .one(&cluster.db)
            .await
            .ok()??;
        (row.bytes_done >= MIB as i64)
            .then_some(row.claimed_by)
            .flatten()
    })
    .await
}

#[tokio::test]
async fn a_download_asked_of_both_replicas_at_once_is_one_job() {
    let cluster = Cluster::new().await;
    let (a, b) = cluster.logged_in_pair().await;
    let bytes = content(2 * MIB, 23);
    let upstream = FileUpstream::start(bytes.clone()).await;
    upstream.throttle(Some(Duration::from_millis(20)));
    let name = a.add_url(&upstream.url("/twice.img")).await;
    let body = json!({"name": name});
    let (on_a, on_b) = tokio::join!(
        a.post_json("/catalog/downloads", &body),
        b.post_json("/catalog/downloads", &body)
    );
    assert_eq!(on_a.status(), StatusCode::ACCEPTED);
    assert_eq!(on_b.status(), StatusCode::ACCEPTED);
    eventually(60, "the download to complete", || async {
        download_state(&b, &name)
            .await
            .filter(|state| state["status"] == "completed")
    })
    .await;
    let rows = download_jobs(&cluster).await;
    assert_eq!(rows.len(), 1, "one job: {rows:?}");
    assert_eq!(upstream.gets().len(), 1);
    assert_eq!(
        a.events_of_kind("catalog.download.requested").await.len(),
        1
    );
    assert_eq!(
        a.events_of_kind("catalog.download.completed").await.len(),
        1
    );
}

#[tokio::test]
async fn a_cancel_asked_of_the_replica_a_download_does_not_run_on_stops_it() {
    let cluster = Cluster::new().await;
    let (a, b) = cluster.logged_in_pair().await;
    let bytes = content(8 * MIB, 24);
    let upstream = FileUpstream::start(bytes).await;
    upstream.throttle(Some(Duration::from_millis(40)));
    let name = a.add_url(&upstream.url("/stopped.img")).await;
    let response = a
        .post_json("/catalog/downloads", &json!({"name": name}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let runner = runner_of_the_download(&cluster).await;
    let other = if runner == a.node { &b } else { &a };

    let response = other.delete(&format!("/catalog/downloads/{name}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Within a chunk or two: the running replica hears of it at once.
    let state = eventually(5, "the download to be cancelled", || async {
        download_state(other, &name)
            .await
            .filter(|state| state["status"] == "cancelled")
    })
    .await;
    assert!(state["bytes_downloaded"].as_u64() < Some(8 * MIB as u64));
    let cancelled = other.events_of_kind("catalog.download.cancelled").await;
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(cancelled[0]["actor"], "admin");
    let leftovers: Vec<_> = std::fs::read_dir(cluster.cache_dir())
        .expect("cache dir")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name())
        .collect();
    assert!(
        leftovers.is_empty(),
        "a cancel leaves nothing: {leftovers:?}"
    );
}

/// The path `GET /images` offers for `name`, on `replica`.
async fn offered_path(replica: &Replica, name: &str) -> String {
    let images = replica.json("/images").await;
    let url = images
        .as_array()
        .expect("a list")
        .iter()
        .find(|image| image["name"] == name)
        .and_then(|image| image["url"].as_str())
        .unwrap_or_else(|| panic!("{name} is not offered: {images}"))
        .to_owned();
    let start = url.find("/images/").expect("a byte route");
    url[start..].to_owned()
}

#[tokio::test]
async fn an_uncached_image_asked_of_both_replicas_streams_through_both_from_one_transfer() {
    let cluster = Cluster::new().await;
    let (a, b) = cluster.logged_in_pair().await;
    let bytes = content(2 * MIB, 29);
    let upstream = FileUpstream::start(bytes.clone()).await;
    upstream.throttle(Some(Duration::from_millis(20)));
    let name = a.add_url(&upstream.url("/streamed.img")).await;
    let path = offered_path(&b, &name).await;

    let (from_a, from_b) = tokio::join!(a.get(&path), b.get(&path));
    for (response, node) in [(from_a, "replica-a"), (from_b, "replica-b")] {
        let status = response.status();
        let body = response.bytes().await.expect("the whole body");
        assert_eq!(
            status,
            StatusCode::OK,
            "{node}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            body == bytes,
            "{node} sent the upstream's bytes ({} bytes)",
            body.len()
        );
    }
    assert_eq!(upstream.gets().len(), 1, "one upstream transfer");
    let rows = download_jobs(&cluster).await;
    assert_eq!(rows.len(), 1, "one job: {rows:?}");
}
