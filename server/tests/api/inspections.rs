//! Inspection: every image, however it arrived (upload, dropped into the
//! image root, downloaded), is looked into once hashed. Fixtures come from
//! the real tools: gzip, xz, zstd, bzip2 and qemu-img (scripts/setup.sh).

use std::{path::Path, process::Command};

use app::model::{CatalogRow, InspectionState, JobKind, JobStatus};
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use server::db::entity::image_inspection::Entity as ImageInspections;

use crate::{
    helpers::{restart, sha256_hex, spawn_app, spawn_app_with, TestApp},
    listing::{catalog_toml, listed},
    upstream_files::FileUpstream,
};

/// Runs `script` with `sh` in `dir`; the tools must be installed.
fn sh(dir: &Path, script: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .expect("sh runs");
    assert!(status.success(), "`{script}` failed; run scripts/setup.sh");
}

async fn upload(app: &TestApp, name: &str, bytes: Vec<u8>) {
    let token = app.cookie.as_deref().expect("logged in");
    let response = app
        .client
        .put(app.url(&format!("/images/{name}")))
        .header("cookie", format!("bty-token={token}"))
        .body(bytes)
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), StatusCode::OK, "upload {name}");
}

/// Waits until the row named `name` is no longer pending. An inspection
/// that failed ends the wait with its reason, unless the file changed after
/// it was hashed: the new hash queues a new inspection.
async fn inspected(app: &TestApp, name: &str) -> CatalogRow {
    app.eventually(60, &format!("{name} to be inspected"), || async {
        let failed = app.events_of_kind("image.inspection_failed").await;
        let superseded = |event: &Value| {
            let error = event["details"]["error"].as_str().unwrap_or_default();
            error.starts_with("the file changed")
        };
        if let Some(event) = failed
            .iter()
            .find(|event| event["subject_id"] == name && !superseded(event))
        {
            panic!("the inspection of {name} failed: {event}");
        }
        app.catalog_row(name)
            .await
            .filter(|row| row.inspection != InspectionState::Pending)
    })
    .await
}

/// The kinds of `name`'s events once `kind` is among them `times` times:
/// the audit trail is written just after the row it reports on changes.
async fn event_kinds(app: &TestApp, name: &str, kind: &str, times: usize) -> Vec<String> {
    let what = format!("{times} '{kind}' event(s) for {name}");
    app.eventually(30, &what, || async {
        let body: Value = app
            .get(&format!("/events?subject_id={name}"))
            .await
            .json()
            .await
            .expect("events JSON");
        let kinds: Vec<String> = body["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|event| event["kind"].as_str().map(str::to_owned))
            .collect();
        (kinds.iter().filter(|seen| *seen == kind).count() >= times).then_some(kinds)
    })
    .await
}

/// A body of disk-like bytes: a partition table, text and zeros.
fn disk(dir: &Path) -> Vec<u8> {
    sh(
        dir,
        "truncate -s 4M disk.raw && printf 'label: dos\\n,2M,L\\n' | sfdisk -q disk.raw && \
         seq 1 100000 | dd of=disk.raw bs=1M seek=1 conv=notrunc status=none",
    );
    std::fs::read(dir.join("disk.raw")).expect("disk")
}

#[tokio::test]
async fn an_uploaded_qcow2_with_a_backing_file_is_unsafe_refused_everywhere_and_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    sh(
        dir.path(),
        "qemu-img create -q -f raw base.raw 1M && \
         qemu-img create -q -f qcow2 -b \"$PWD/base.raw\" -F raw overlay.qcow2",
    );
    let bytes = std::fs::read(dir.path().join("overlay.qcow2")).expect("qcow2");
    let sha = sha256_hex(&bytes);
    let mut app = spawn_app().await;
    app.login().await;
    upload(&app, "overlay.qcow2", bytes).await;

    let row = inspected(&app, "overlay.qcow2").await;
    assert_eq!(row.inspection, InspectionState::Unsafe);
    let reason = row.inspection_reason.clone().expect("a reason");
    let base = dir.path().join("base.raw").display().to_string();
    assert!(
        reason.contains(&format!("backing file ({base:?}")),
        "{reason}"
    );
    assert_eq!(row.format.as_deref(), Some("qcow2"));
    assert_eq!(row.uncompressed_size, Some(1 << 20), "the virtual size");
    assert_eq!(row.uncompressed_sha256, None);

    // Never offered: not listed, and its byte routes answer 409 with why.
    assert_eq!(listed(&app, "overlay.qcow2").await, None);
    assert!(catalog_toml(&app)
        .await
        .iter()
        .all(|e| e.name != "overlay.qcow2"));
    for path in [
        "/images/overlay.qcow2".to_owned(),
        format!("/images/{sha}"),
        format!("/images/{sha}/overlay.qcow2"),
    ] {
        let response = app.client.get(app.url(&path)).send().await.expect("GET");
        assert_eq!(response.status(), StatusCode::CONFLICT, "{path}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body["detail"],
            format!("image is unsafe: {reason}"),
            "{path}"
        );
    }
    event_kinds(&app, "overlay.qcow2", "image.unsafe", 1).await;
    let unsafe_event = app.events_of_kind("image.unsafe").await;
    assert_eq!(unsafe_event[0]["details"]["reason"], reason);
    assert_eq!(unsafe_event[0]["details"]["sha256"], sha);

    // The page shows the red badge with the reason.
    let page = app.get("/ui/images").await.text().await.expect("page");
    assert!(page.contains("bty-inspection-unsafe"), "a badge on the row");
    assert!(
        page.contains("opening it reads that file on the host"),
        "the reason on the page"
    );
}

#[tokio::test]
async fn qcow2_with_a_data_file_or_encryption_is_unsafe_and_a_clean_one_is_offered() {
    let dir = tempfile::tempdir().expect("temp dir");
    sh(
        dir.path(),
        "qemu-img create -q -f qcow2 -o data_file=guest.raw external.qcow2 8M && \
         qemu-img create -q -f qcow2 --object secret,id=sec0,data=abc \
           -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10 secret.qcow2 8M && \
         qemu-img create -q -f qcow2 clean.qcow2 8M",
    );
    let mut app = spawn_app().await;
    app.login().await;
    for name in ["external.qcow2", "secret.qcow2", "clean.qcow2"] {
        let bytes = std::fs::read(dir.path().join(name)).expect("fixture");
        upload(&app, name, bytes).await;
    }
    let external = inspected(&app, "external.qcow2").await;
    assert_eq!(external.inspection, InspectionState::Unsafe);
    assert!(
        external
            .inspection_reason
            .as_deref()
            .unwrap_or_default()
            .contains("external file (\"guest.raw\")"),
        "{external:?}"
    );
    let secret = inspected(&app, "secret.qcow2").await;
    assert_eq!(secret.inspection, InspectionState::Unsafe);
    assert_eq!(
        secret.inspection_reason.as_deref(),
        Some("qcow2 image is encrypted (LUKS)")
    );
    let clean = inspected(&app, "clean.qcow2").await;
    assert_eq!(clean.inspection, InspectionState::Ok);
    assert_eq!(clean.uncompressed_size, Some(8 << 20));
    let entry = listed(&app, "clean.qcow2").await.expect("offered");
    assert_eq!(entry["inspection"], "ok");
    assert_eq!(entry["uncompressed_size"], 8 << 20);
    assert_eq!(entry["uncompressed_sha256"], Value::Null);
    assert_eq!(listed(&app, "external.qcow2").await, None);
    assert_eq!(listed(&app, "secret.qcow2").await, None);
}

#[tokio::test]
async fn a_gzip_dropped_in_as_img_is_gzip_with_a_warning_and_its_uncompressed_size_and_sha() {
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = disk(dir.path());
    sh(dir.path(), "gzip -c disk.raw > layer.img");
    let gzip = std::fs::read(dir.path().join("layer.img")).expect("gzip");
    let mut app = spawn_app().await;
    app.login().await;
    // Dropped into the image root: the reconciler hashes it, then it is inspected.
    app.write_image("layer.img", &gzip);

    let row = inspected(&app, "layer.img").await;
    assert_eq!(row.inspection, InspectionState::Ok);
    assert_eq!(row.format.as_deref(), Some("img.gz"), "the bytes' format");
    assert_eq!(
        row.format_warning.as_deref(),
        Some("named .img, contains gzip")
    );
    assert_eq!(row.sha256, Some(sha256_hex(&gzip)), "the file's own sha");
    assert_eq!(row.uncompressed_size, Some(raw.len() as u64));
    assert_eq!(row.uncompressed_sha256, Some(sha256_hex(&raw)));

    let entry = listed(&app, "layer.img").await.expect("listed");
    assert_eq!(entry["format"], "img.gz");
    assert_eq!(entry["uncompressed_size"], raw.len());
    assert_eq!(entry["uncompressed_sha256"], sha256_hex(&raw));
    let toml = catalog_toml(&app).await;
    assert_eq!(toml[0].format.as_deref(), Some("img.gz"));
    let text = app.get("/catalog.toml").await.text().await.expect("toml");
    assert!(
        text.contains(&format!("uncompressed_size = {}", raw.len())),
        "{text}"
    );
    assert!(
        text.contains(&format!("uncompressed_sha256 = \"{}\"", sha256_hex(&raw))),
        "{text}"
    );
    assert!(text.contains("inspection = \"ok\""), "{text}");

    let entries: Value = app
        .get("/catalog/entries")
        .await
        .json()
        .await
        .expect("JSON");
    let entry = &entries.as_array().expect("entries")[0];
    assert_eq!(entry["format"], "img.gz");
    assert_eq!(entry["format_warning"], "named .img, contains gzip");
    assert_eq!(entry["inspection"], "ok");
    assert_eq!(entry["uncompressed_size"], raw.len());

    let response = app
        .client
        .get(app.url("/images/layer.img"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.headers()["content-type"], "application/gzip");
    event_kinds(&app, "layer.img", "image.format_mismatch", 1).await;
    let mismatch = app.events_of_kind("image.format_mismatch").await;
    assert_eq!(
        mismatch[0]["details"]["warning"],
        "named .img, contains gzip"
    );

    let page = app.get("/ui/images").await.text().await.expect("page");
    assert!(
        page.contains("named .img, contains gzip"),
        "the warning on the page"
    );
    let filtered = app
        .get("/ui/events?kind=image.format_mismatch")
        .await
        .text()
        .await
        .expect("events page");
    assert!(
        filtered.contains("named .img, contains gzip"),
        "the events page filters them"
    );
}

#[tokio::test]
async fn every_compressor_decompresses_to_the_disk_it_was_made_from() {
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = disk(dir.path());
    sh(
        dir.path(),
        "xz -c disk.raw > d.img.xz && zstd -q -c disk.raw > d.img.zst && \
         bzip2 -c disk.raw > d.img.bz2 && cp disk.raw d.img",
    );
    let mut app = spawn_app().await;
    app.login().await;
    for name in ["d.img.xz", "d.img.zst", "d.img.bz2", "d.img"] {
        upload(
            &app,
            name,
            std::fs::read(dir.path().join(name)).expect("fixture"),
        )
        .await;
    }
    for name in ["d.img.xz", "d.img.zst", "d.img.bz2", "d.img"] {
        let row = inspected(&app, name).await;
        assert_eq!(row.inspection, InspectionState::Ok, "{name}");
        assert_eq!(row.format.as_deref(), Some(&name[2..]), "{name}");
        assert_eq!(row.format_warning, None, "{name}");
        assert_eq!(row.uncompressed_size, Some(raw.len() as u64), "{name}");
        assert_eq!(row.uncompressed_sha256, Some(sha256_hex(&raw)), "{name}");
    }
}

#[tokio::test]
async fn a_truncated_zst_is_corrupt_and_never_offered() {
    let dir = tempfile::tempdir().expect("temp dir");
    sh(
        dir.path(),
        "head -c 3000000 /dev/urandom > disk && zstd -q -c disk > full.zst && \
         head -c 1500000 full.zst > cut.img.zst",
    );
    let bytes = std::fs::read(dir.path().join("cut.img.zst")).expect("fixture");
    let sha = sha256_hex(&bytes);
    let mut app = spawn_app().await;
    app.login().await;
    upload(&app, "cut.img.zst", bytes).await;
    let row = inspected(&app, "cut.img.zst").await;
    assert_eq!(row.inspection, InspectionState::Corrupt);
    let reason = row.inspection_reason.clone().expect("the error");
    assert!(
        reason.starts_with("zstd data does not decompress: "),
        "{reason}"
    );
    assert_eq!(row.uncompressed_size, None);
    assert_eq!(listed(&app, "cut.img.zst").await, None);
    let response = app
        .client
        .get(app.url(&format!("/images/{sha}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    event_kinds(&app, "cut.img.zst", "image.corrupt", 1).await;
    let page = app.get("/ui/images").await.text().await.expect("page");
    assert!(
        page.contains("bty-inspection-corrupt"),
        "a badge on the row"
    );

    // A good re-upload under the same name inspects again.
    sh(dir.path(), "cp full.zst whole.img.zst");
    upload(
        &app,
        "cut.img.zst",
        std::fs::read(dir.path().join("whole.img.zst")).expect("whole"),
    )
    .await;
    let again = app
        .eventually(60, "the re-upload to be inspected", || async {
            app.catalog_row("cut.img.zst")
                .await
                .filter(|row| row.inspection == InspectionState::Ok)
        })
        .await;
    assert_eq!(again.uncompressed_size, Some(3_000_000));
    assert!(listed(&app, "cut.img.zst").await.is_some());
}

#[tokio::test]
async fn data_past_the_cap_on_the_uncompressed_size_is_corrupt() {
    let dir = tempfile::tempdir().expect("temp dir");
    sh(
        dir.path(),
        "head -c 8388608 /dev/zero | gzip -c > zeros.img.gz",
    );
    let mut app = spawn_app_with(|settings| settings.max_uncompressed_bytes = 4 << 20).await;
    app.login().await;
    upload(
        &app,
        "zeros.img.gz",
        std::fs::read(dir.path().join("zeros.img.gz")).expect("gz"),
    )
    .await;
    let row = inspected(&app, "zeros.img.gz").await;
    assert_eq!(row.inspection, InspectionState::Corrupt);
    assert_eq!(
        row.inspection_reason.as_deref(),
        Some("gzip data decompresses to more than 4.0 MiB, the limit on an image's uncompressed size")
    );
}

#[tokio::test]
async fn a_downloaded_image_is_inspected_in_the_hash_pane_after_it_is_cached() {
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = disk(dir.path());
    sh(dir.path(), "xz -c disk.raw > remote.img.xz");
    let xz = std::fs::read(dir.path().join("remote.img.xz")).expect("xz");
    let upstream = FileUpstream::start(xz.clone()).await;
    let mut app = spawn_app().await;
    app.login().await;
    let added = app
        .post_json(
            "/catalog/entries",
            &json!({"image_url": upstream.url("/remote.img.xz")}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let fetched = app
        .post_json("/catalog/downloads", &json!({"name": "remote.img.xz"}))
        .await;
    assert_eq!(fetched.status(), StatusCode::ACCEPTED);

    let row = inspected(&app, "remote.img.xz").await;
    assert_eq!(row.inspection, InspectionState::Ok);
    assert_eq!(row.sha256, Some(sha256_hex(&xz)));
    assert_eq!(row.uncompressed_size, Some(raw.len() as u64));
    assert_eq!(row.uncompressed_sha256, Some(sha256_hex(&raw)));
    event_kinds(&app, "remote.img.xz", "image.inspected", 1).await;

    // The job is in the live stream's jobs, as the Hashes pane shows them.
    let mut stream = app.live().await;
    let (_, data) = stream.next_event().await.expect("snapshot");
    let snapshot: Value = serde_json::from_str(&data).expect("JSON");
    let job = snapshot["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|job| job["kind"] == JobKind::Inspect.as_str())
        .cloned()
        .expect("an inspection job");
    assert_eq!(job["name"], "remote.img.xz");
    assert_eq!(job["status"], "completed");
    assert_eq!(job["bytes_done"], xz.len());
    assert_eq!(job["sha256"], sha256_hex(&xz));
}

#[tokio::test]
async fn images_hashed_before_inspection_existed_are_inspected_at_start_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = disk(dir.path());
    sh(dir.path(), "gzip -c disk.raw > old.img.gz");
    let gz = std::fs::read(dir.path().join("old.img.gz")).expect("gz");
    let mut app = spawn_app().await;
    app.login().await;
    upload(&app, "old.img.gz", gz.clone()).await;
    inspected(&app, "old.img.gz").await;
    let db = app.state.db.clone();
    let stopped = app.stop().await;

    // What a server from before inspections leaves: a hashed image, no
    // finding.
    ImageInspections::delete_many()
        .exec(&db)
        .await
        .expect("forget the findings");
    drop(db);

    let mut app = restart(stopped).await;
    app.login().await;
    let row = inspected(&app, "old.img.gz").await;
    assert_eq!(row.inspection, InspectionState::Ok);
    assert_eq!(row.sha256, Some(sha256_hex(&gz)));
    assert_eq!(row.uncompressed_size, Some(raw.len() as u64));
    assert_eq!(row.uncompressed_sha256, Some(sha256_hex(&raw)));
    let inspected_events = event_kinds(&app, "old.img.gz", "image.inspected", 2)
        .await
        .into_iter()
        .filter(|kind| kind == "image.inspected")
        .count();
    assert_eq!(
        inspected_events, 2,
        "once at the upload, once after the restart"
    );
}

#[tokio::test]
async fn cancelling_a_running_inspection_stops_it_and_logs_the_cancel() {
    // 64 MiB of zeros in one zstd frame, repeated: a small file that
    // decompresses to 32 GiB, long enough to be cancelled mid-way.
    let frame = zstd::encode_all(&vec![0u8; 64 << 20][..], 1).expect("zstd");
    let body = frame.repeat(512);
    let mut app = spawn_app().await;
    app.login().await;
    upload(&app, "zeros.img.zst", body).await;
    let running = app
        .eventually(60, "the inspection to run", || async {
            server::workers::jobs::latest_for(&app.state.db, JobKind::Inspect, "zeros.img.zst")
                .await
                .ok()
                .flatten()
                .filter(|job| job.status == JobStatus::Running)
        })
        .await;
    let response = app.delete("/catalog/hashes/zeros.img.zst").await;
    assert_eq!(response.status(), StatusCode::OK);
    let state: Value = response.json().await.expect("JSON");
    assert!(
        state["sha256"].is_string(),
        "the inspection, after its hash: {state}"
    );
    assert_eq!(
        state["status"], "running",
        "a running job stops within a chunk"
    );

    let cancelled = app
        .eventually(30, "the cancel", || async {
            server::workers::jobs::latest_for(&app.state.db, JobKind::Inspect, "zeros.img.zst")
                .await
                .ok()
                .flatten()
                .filter(|job| job.status == JobStatus::Cancelled)
        })
        .await;
    assert_eq!(cancelled.id, running.id);
    let events = app
        .eventually(30, "the cancel's event", || async {
            Some(app.events_of_kind("image.inspection_cancelled").await)
                .filter(|events| !events.is_empty())
        })
        .await;
    assert_eq!(events[0]["subject_id"], "zeros.img.zst");
    assert_eq!(events[0]["actor"], "admin", "the operator who cancelled");
    // Nothing was found: the row stays pending, with no uncompressed size,
    // and it is still offered by its compressed bytes' digest.
    let row = app.catalog_row("zeros.img.zst").await.expect("row");
    assert_eq!(row.inspection, InspectionState::Pending);
    assert_eq!(row.uncompressed_size, None);
    assert_eq!(app.events_of_kind("image.inspected").await.len(), 0);
    assert!(listed(&app, "zeros.img.zst").await.is_some());
}
