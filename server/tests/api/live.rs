//! The live stream: a snapshot first, then job progress with absolute byte
//! counts, catalog changes and audit events as they happen.

use app::model::{CatalogView, Event, Job, JobStatus, LiveSnapshot};

use crate::helpers::{sha256_hex, spawn_app};

#[tokio::test]
async fn the_stream_opens_with_a_snapshot_of_jobs_and_catalog() {
    let mut app = spawn_app().await;
    app.login().await;
    app.write_image("present.img", b"present");
    app.wait_until_hashed("present.img").await;
    let mut stream = app.live().await;
    let (event, data) = stream.next_event().await.expect("first event");
    assert_eq!(event, "snapshot");
    let snapshot: LiveSnapshot = serde_json::from_str(&data).expect("JSON");
    assert_eq!(snapshot.catalog.rows.len(), 1);
    assert_eq!(
        snapshot.catalog.rows[0].sha256,
        Some(sha256_hex(b"present"))
    );
    assert!(snapshot
        .jobs
        .iter()
        .any(|j| j.name == "present.img" && j.status == JobStatus::Completed));
}

#[tokio::test]
async fn a_dropped_file_streams_progress_its_digest_and_an_audit_event() {
    let mut app = spawn_app().await;
    app.login().await;
    let mut stream = app.live().await;
    stream.next_event().await.expect("snapshot");

    // A sparse 1 GiB file: hashing it takes long enough to report progress.
    let size: u64 = 1 << 30;
    std::fs::File::create(app.image_root.join("stream.img"))
        .and_then(|f| f.set_len(size))
        .expect("sparse file");
    let listed = stream
        .wait_for("the new file in the catalog", |event, data| {
            (event == "catalog")
                .then(|| serde_json::from_str::<CatalogView>(data).expect("JSON"))
                .filter(|view| view.rows.iter().any(|r| r.names == ["stream.img"]))
        })
        .await;
    assert_eq!(listed.rows[0].sha256, None, "listed before it is hashed");

    let mut progress = Vec::new();
    let done = stream
        .wait_for("the completed job", |event, data| {
            if event != "job" {
                return None;
            }
            let job: Job = serde_json::from_str(data).expect("JSON");
            assert_eq!(job.name, "stream.img");
            if job.status == JobStatus::Running {
                assert_eq!(job.bytes_total, Some(size), "absolute totals");
                progress.push(job.bytes_done);
            }
            (job.status == JobStatus::Completed).then_some(job)
        })
        .await;
    assert_eq!(done.bytes_done, size);
    assert!(
        progress.iter().any(|&b| b > 0 && b < size),
        "at least one mid-way progress update: {progress:?}"
    );
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "never backwards: {progress:?}"
    );

    let mut saw_digest = false;
    let mut saw_event = false;
    while !(saw_digest && saw_event) {
        let (event, data) = stream.next_event().await.expect("more events");
        match event.as_str() {
            "catalog" => {
                let view: CatalogView = serde_json::from_str(&data).expect("JSON");
                saw_digest |= view.rows.iter().any(|r| r.sha256 == done.sha256);
            }
            "event" => {
                let audit: Event = serde_json::from_str(&data).expect("JSON");
                saw_event |= audit.kind == "image.hashed"
                    && audit.subject_id.as_deref() == Some("stream.img");
            }
            _ => {}
        }
    }
}
