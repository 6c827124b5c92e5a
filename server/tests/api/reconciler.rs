//! The image root and the catalog stay in step: files dropped, changed and
//! removed while the server runs; symlinks and other files ignored.

use app::model::SourceKind;

use crate::helpers::{sha256_hex, spawn_app};

#[tokio::test]
async fn a_dropped_file_is_listed_then_hashed_without_any_request() {
    let mut app = spawn_app().await;
    app.login().await;
    assert!(app.catalog().await.is_empty());
    app.write_image("dropped.img.gz", b"gzip-ish bytes");
    let row = app.wait_until_hashed("dropped.img.gz").await;
    assert_eq!(row.sha256, Some(sha256_hex(b"gzip-ish bytes")));
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
