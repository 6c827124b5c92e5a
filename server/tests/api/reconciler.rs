//! The image root and the catalog stay in step: files dropped, renamed in,
//! changed and removed while the server runs, or found at start-up;
//! symlinks and other files ignored. A file is hashed once its bytes are
//! complete, never while a writer is still at it.

use std::{io::Write, sync::mpsc, time::Duration};

use app::model::{JobStatus, SourceKind};
use serde_json::Value;

use crate::helpers::{gzipped, restart, sha256_hex, spawn_app, TestApp};

/// The `GET /catalog/entries` row of the file `name`, if listed.
async fn entry(app: &TestApp, name: &str) -> Option<Value> {
    let rows: Vec<Value> = app
        .get("/catalog/entries")
        .await
        .json()
        .await
        .expect("entries JSON");
    rows.into_iter().find(|row| row["name"] == name)
}

/// Waits until `GET /catalog/entries` shows a sha for the file `name`.
async fn wait_for_entry_sha(app: &TestApp, name: &str) -> String {
    app.eventually(60, &format!("a sha for {name}"), || async {
        entry(app, name)
            .await
            .and_then(|row| row["disk_image_sha"].as_str().map(str::to_owned))
    })
    .await
}

/// Bytes that differ from chunk to chunk, so a partial hash cannot pass.
fn varied_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 13) as u8)
        .collect()
}

#[tokio::test]
async fn a_dropped_file_is_listed_then_hashed_without_any_request() {
    let mut app = spawn_app().await;
    app.login().await;
    assert!(app.catalog().await.is_empty());
    let gzip = gzipped(b"gzip bytes");
    app.write_image("dropped.img.gz", &gzip);
    let row = app.wait_until_hashed("dropped.img.gz").await;
    assert_eq!(row.sha256, Some(sha256_hex(&gzip)));
    assert_eq!(row.format.as_deref(), Some("img.gz"));
    assert!(row.cached);
    assert_eq!(row.sources.len(), 1);
    assert_eq!(row.sources[0].kind, SourceKind::Local);
    assert_eq!(
        row.sources[0].location,
        app.image_root.join("dropped.img.gz").display().to_string()
    );
}

#[tokio::test]
async fn a_changed_file_is_hashed_again_and_its_sidecar_replaced() {
    let mut app = spawn_app().await;
    app.login().await;
    app.write_image("changing.qcow2", b"version one");
    app.wait_until_hashed("changing.qcow2").await;

    app.write_image("changing.qcow2", b"version two, longer");
    let new_sha = sha256_hex(b"version two, longer");
    let row = app
        .eventually(30, "the new digest", || async {
            app.catalog_row("changing.qcow2")
                .await
                .filter(|row| row.sha256.as_deref() == Some(new_sha.as_str()))
        })
        .await;
    assert_eq!(row.size_bytes, Some(19));
    let sidecar =
        std::fs::read_to_string(app.image_root.join("changing.qcow2.sha256")).expect("sidecar");
    assert_eq!(sidecar, format!("{new_sha}  changing.qcow2\n"));
}

#[tokio::test]
async fn a_removed_file_stops_being_listed() {
    let mut app = spawn_app().await;
    app.login().await;
    let path = app.write_image("gone.img", b"soon gone");
    app.wait_until_hashed("gone.img").await;
    std::fs::remove_file(path).expect("remove");
    app.eventually(30, "the row to go", || async {
        app.catalog_row("gone.img").await.is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn symlinks_and_non_image_files_are_ignored() {
    let mut app = spawn_app().await;
    app.login().await;
    let outside = tempfile::tempdir().expect("tempdir");
    let target = outside.path().join("outside.img");
    std::fs::write(&target, b"outside the root").expect("write");
    std::os::unix::fs::symlink(&target, app.image_root.join("link.img")).expect("symlink");
    app.write_image("notes.txt", b"just notes");
    app.write_image("real.img", b"real");
    app.wait_until_hashed("real.img").await;
    let names: Vec<String> = app
        .catalog()
        .await
        .into_iter()
        .flat_map(|row| row.names)
        .collect();
    assert_eq!(names, ["real.img"]);
    assert!(app.hash_state("link.img").await.is_none());
    assert!(app.hash_state("notes.txt").await.is_none());
    assert!(!app.image_root.join("notes.txt.sha256").exists());
}

#[tokio::test]
async fn a_file_with_a_fresh_sidecar_is_trusted_without_hashing() {
    let mut app = spawn_app().await;
    app.login().await;
    let claimed = "ab".repeat(32);
    app.write_image("copied.img", b"copied with its sidecar");
    std::fs::write(
        app.image_root.join("copied.img.sha256"),
        format!("{claimed}  copied.img\n"),
    )
    .expect("sidecar");
    let row = app.wait_until_hashed("copied.img").await;
    assert_eq!(row.sha256, Some(claimed));
    assert!(
        app.hash_state("copied.img").await.is_none(),
        "no hash job ran"
    );
}

#[tokio::test]
async fn a_file_renamed_into_the_root_is_hashed_without_any_request() {
    let mut app = spawn_app().await;
    app.login().await;
    // Copied beside the root, then renamed in: the way a finished copy
    // lands, with a fresh modification time.
    let data = varied_bytes(9 << 20, 7);
    let staging = app.state_dir().join("incoming.img");
    std::fs::write(&staging, &data).expect("write beside the root");
    std::fs::rename(&staging, app.image_root.join("renamed.img")).expect("rename in");

    let sha = wait_for_entry_sha(&app, "renamed.img").await;
    assert_eq!(sha, sha256_hex(&data));
    let row = entry(&app, "renamed.img").await.expect("listed");
    assert_eq!(row["kind"], "local");
    assert_eq!(row["format"], "img");
    assert_eq!(row["size_bytes"], data.len() as u64);
    let sidecar =
        std::fs::read_to_string(app.image_root.join("renamed.img.sha256")).expect("sidecar");
    assert_eq!(sidecar, format!("{sha}  renamed.img\n"));
    let hash = app.hash_state("renamed.img").await.expect("a hash job");
    assert_eq!(hash.status, JobStatus::Completed);
    assert_eq!(hash.bytes_hashed, data.len() as u64);
}

#[tokio::test]
async fn a_file_still_being_written_is_hashed_only_once_its_writer_closes_it() {
    let mut app = spawn_app().await;
    app.login().await;
    let path = app.image_root.join("growing.qcow2");
    let (stop, stopped) = mpsc::channel::<()>();
    // A writer that keeps the file open and adds to it every 50 ms until
    // told to stop; then it closes the file.
    let writer = std::thread::spawn(move || {
        let mut file = std::fs::File::create(&path).expect("create");
        let mut written = Vec::new();
        for round in 0u8.. {
            let chunk = varied_bytes(64 << 10, round);
            file.write_all(&chunk).expect("write");
            written.extend_from_slice(&chunk);
            if stopped.recv_timeout(Duration::from_millis(50)).is_ok() {
                break;
            }
        }
        drop(file);
        written
    });

    app.eventually(30, "the file to be listed", || async {
        entry(&app, "growing.qcow2").await
    })
    .await;
    // 2.5 s of writing: well past the settle of a file left alone.
    for _ in 0..25 {
        let row = entry(&app, "growing.qcow2").await.expect("still listed");
        assert!(
            row["disk_image_sha"].is_null(),
            "a sha while the file is being written: {row}"
        );
        assert!(
            app.hash_state("growing.qcow2").await.is_none(),
            "a hash queued while the file is being written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(()).expect("the writer runs");
    let written = writer.join().expect("the writer");

    let sha = wait_for_entry_sha(&app, "growing.qcow2").await;
    assert_eq!(
        sha,
        sha256_hex(&written),
        "the digest of every byte written"
    );
    let row = entry(&app, "growing.qcow2").await.expect("listed");
    assert_eq!(row["size_bytes"], written.len() as u64);
}

#[tokio::test]
async fn a_file_rewritten_while_it_is_hashed_is_hashed_again() {
    let mut app = spawn_app().await;
    app.login().await;
    // Sparse: hashing it takes seconds, making it takes none.
    let path = app.image_root.join("rewritten.img");
    std::fs::File::create(&path)
        .and_then(|file| file.set_len(8 << 30))
        .expect("sparse file");
    app.eventually(30, "the hash to be under way", || async {
        app.hash_state("rewritten.img")
            .await
            .filter(|state| state.status == JobStatus::Running && state.bytes_hashed > 0)
    })
    .await;
    std::fs::write(&path, b"the final bytes").expect("rewrite");

    let sha = wait_for_entry_sha(&app, "rewritten.img").await;
    assert_eq!(sha, sha256_hex(b"the final bytes"));
    let failed = app.events_of_kind("image.hash_failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0]["details"]["error"],
        "the file changed while it was being hashed"
    );
    let sidecar =
        std::fs::read_to_string(app.image_root.join("rewritten.img.sha256")).expect("sidecar");
    assert_eq!(sidecar, format!("{sha}  rewritten.img\n"));
}

#[tokio::test]
async fn a_file_found_at_start_up_is_hashed_without_any_request() {
    let app = spawn_app().await;
    let image_root = app.image_root.clone();
    let stopped = app.stop().await;
    // Written while the server was down, just before it starts: a fresh
    // modification time, and no event the server saw.
    let data = varied_bytes(3 << 20, 11);
    std::fs::write(image_root.join("waiting.img.xz"), &data).expect("write");

    let mut app = restart(stopped).await;
    app.login().await;
    let sha = wait_for_entry_sha(&app, "waiting.img.xz").await;
    assert_eq!(sha, sha256_hex(&data));
}

#[tokio::test]
async fn a_sidecar_copied_in_after_its_file_is_trusted_and_the_hash_stops() {
    let mut app = spawn_app().await;
    app.login().await;
    let path = app.image_root.join("late.img");
    std::fs::File::create(&path)
        .and_then(|file| file.set_len(8 << 30))
        .expect("sparse file");
    app.eventually(30, "the hash to run", || async {
        app.hash_state("late.img")
            .await
            .filter(|state| state.status == JobStatus::Running)
    })
    .await;
    let claimed = "cd".repeat(32);
    let sidecar = format!("{claimed}  late.img\n");
    std::fs::write(app.image_root.join("late.img.sha256"), &sidecar).expect("sidecar");

    assert_eq!(wait_for_entry_sha(&app, "late.img").await, claimed);
    let hash = app
        .eventually(30, "the hash to stop", || async {
            app.hash_state("late.img")
                .await
                .filter(|state| !state.status.is_active())
        })
        .await;
    assert_eq!(hash.status, JobStatus::Cancelled);
    assert!(hash.bytes_hashed < 8 << 30);
    let kept = std::fs::read_to_string(app.image_root.join("late.img.sha256")).expect("sidecar");
    assert_eq!(kept, sidecar, "the sidecar is kept as it came");
    assert_eq!(
        entry(&app, "late.img").await.expect("listed")["disk_image_sha"],
        claimed
    );
}
