//! Server-rendering checks: the HTML the components produce carries the
//! hooks the end-to-end tests and operators' scripts rely on.

use leptos::prelude::*;

use super::{CatalogTable, EmptyCatalog, EventsCard, JobsPane, UploadSection, Uploads};
use crate::live::LiveState;
use crate::model::{
    CatalogPage, CatalogRow, CatalogView, Event, ImagesPage, InspectionState, Job, JobKind,
    JobStatus, Source, SourceKind,
};

const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn page(rows: Vec<CatalogRow>, jobs: Vec<Job>, events: Vec<Event>) -> ImagesPage {
    ImagesPage {
        operator: "admin".into(),
        catalog: CatalogPage::of(
            &CatalogView {
                image_root: "/srv/images".into(),
                rows,
            },
            "",
            1,
        ),
        jobs,
        recent_events: events,
        hash_max_parallel: 1,
        release_repo: "safl/bty".into(),
        manifest_path: "/var/lib/bty/catalog.toml".into(),
        cache: None,
        download_max_parallel: 2,
    }
}

fn row(name: &str, sha: Option<&str>, cached: bool, source: (SourceKind, &str)) -> CatalogRow {
    CatalogRow {
        image_ref: format!("ref-{name}"),
        sha256: sha.map(str::to_string),
        names: vec![name.into()],
        format: Some("img".into()),
        size_bytes: None,
        sources: vec![Source {
            kind: source.0,
            location: source.1.into(),
        }],
        cached,
        rolling: false,
        ..Default::default()
    }
}

fn render(page: &ImagesPage, view: impl FnOnce(LiveState) -> AnyView) -> String {
    let owner = Owner::new();
    owner.with(|| {
        let live = LiveState::new(page);
        view(live).to_html()
    })
}

/// True when some opening tag holds every one of `attributes`, in any order.
fn has_tag(html: &str, attributes: &[&str]) -> bool {
    html.split('<')
        .filter_map(|rest| rest.split('>').next())
        .any(|tag| attributes.iter().all(|attribute| tag.contains(attribute)))
}

#[test]
fn catalog_rows_carry_their_ref_sha_and_action_hooks() {
    let data = page(
        vec![
            row(
                "local.img",
                None,
                true,
                (SourceKind::Local, "/srv/images/local.img"),
            ),
            row(
                "remote.img",
                Some(SHA),
                false,
                (SourceKind::Url, "https://example.test/r.img"),
            ),
            row(
                "<b>x</b>.img",
                Some(SHA),
                true,
                (SourceKind::Manifest, "https://example.test/m.img"),
            ),
        ],
        vec![],
        vec![],
    );
    let html = render(&data, |live| view! { <CatalogTable live/> }.into_any());
    assert!(has_tag(
        &html,
        &[r#"class="bty-catalog-row""#, r#"data-ref="ref-local.img""#]
    ));
    assert!(html.contains(r#"<span class="badge badge-unhashed">unhashed</span>"#));
    assert!(has_tag(
        &html,
        &["bty-hash-btn", r#"data-name="local.img""#]
    ));
    assert!(has_tag(
        &html,
        &[r#"class="bty-sha""#, &format!(r#"title="{SHA}""#)]
    ));
    assert!(html.contains(">0123456789ab...</code>"));
    assert!(has_tag(
        &html,
        &[
            "bty-copy-sha",
            &format!(r#"data-sha="{SHA}""#),
            r#"title="Copy SHA-256""#
        ]
    ));
    assert!(has_tag(
        &html,
        &["bty-fetch-btn", r#"data-name="remote.img""#]
    ));
    assert!(has_tag(
        &html,
        &[
            "bty-catalog-entry-delete-btn",
            r#"data-src="https://example.test/r.img""#
        ]
    ));
    assert!(has_tag(
        &html,
        &[
            "bty-cache-delete-btn",
            r#"data-name="&lt;b&gt;x&lt;/b&gt;.img""#
        ]
    ));
    assert!(html.contains("&lt;b&gt;x&lt;/b&gt;.img</strong>"));
    assert!(!html.contains("<b>x</b>"));
}

#[test]
fn an_inspected_row_shows_its_sizes_and_an_unsafe_one_its_badge_and_warning() {
    let ok = CatalogRow {
        size_bytes: Some(2_254_857_830),
        uncompressed_size: Some(16 * 1024 * 1024 * 1024),
        inspection: InspectionState::Ok,
        ..row(
            "disk.img.zst",
            Some(SHA),
            true,
            (SourceKind::Local, "/srv/images/disk.img.zst"),
        )
    };
    let unsafe_row = CatalogRow {
        size_bytes: Some(196_608),
        uncompressed_size: Some(1024 * 1024 * 1024),
        inspection: InspectionState::Unsafe,
        inspection_reason: Some("qcow2 has a backing file: /etc/passwd".into()),
        format_warning: Some("named .img, contains qcow2".into()),
        ..row(
            "vm.img",
            Some(SHA),
            true,
            (SourceKind::Local, "/srv/images/vm.img"),
        )
    };
    let pending = CatalogRow {
        size_bytes: Some(1536),
        ..row(
            "new.img",
            None,
            true,
            (SourceKind::Local, "/srv/images/new.img"),
        )
    };
    let data = page(vec![ok, unsafe_row, pending], vec![], vec![]);
    let html = render(&data, |live| view! { <CatalogTable live/> }.into_any());
    assert!(
        html.contains(r#"<div class="bty-size">2.1 GiB → 16.0 GiB</div>"#),
        "{html}"
    );
    assert!(html.contains(r#"<div class="bty-size">192.0 KiB → 1.0 GiB</div>"#));
    assert!(html.contains(r#"<div class="bty-size">1.5 KiB</div>"#));
    assert!(html.contains(
        r#"<div class="bty-inspection bty-inspection-unsafe">unsafe: qcow2 has a backing file: /etc/passwd</div>"#
    ));
    assert!(html.contains(r#"<div class="bty-format-warning">named .img, contains qcow2</div>"#));
    assert_eq!(
        html.matches("bty-inspection-").count(),
        1,
        "only the unsafe row"
    );
}

#[test]
fn the_empty_catalog_explains_where_images_come_from() {
    let html = render(&page(vec![], vec![], vec![]), |live| {
        view! { <EmptyCatalog live/> }.into_any()
    });
    assert!(html.contains("No images yet"));
    assert!(html.contains("<code>/srv/images</code>"));
    assert!(html.contains(".img.zst"));
}

#[test]
fn job_rows_show_status_progress_and_cancel() {
    let running = Job {
        id: 7,
        kind: JobKind::Hash,
        name: "disk.img".into(),
        status: JobStatus::Running,
        bytes_done: 1024 * 1024 * 1024,
        bytes_total: Some(4 * 1024 * 1024 * 1024),
        sha256: None,
        error: None,
        started_at: Some(1.0),
        finished_at: None,
        rate_bps: Some(350_000_000.0),
        attempt: 0,
    };
    let failed = Job {
        id: 8,
        name: "bad.img".into(),
        status: JobStatus::Failed,
        error: Some("e".repeat(80)),
        rate_bps: None,
        attempt: 0,
        ..running.clone()
    };
    let data = page(vec![], vec![running, failed], vec![]);
    let html = render(&data, |live| {
        view! { <JobsPane kind=JobKind::Hash live caption=Some("1 at a time".into())/> }.into_any()
    });
    assert!(html.contains(r#"<tbody class="bty-hashes-tbody">"#));
    assert!(has_tag(
        &html,
        &[
            r#"class="bty-job-row""#,
            r#"data-job-id="7""#,
            r#"data-name="disk.img""#,
            r#"data-status="running""#
        ]
    ));
    assert!(has_tag(
        &html,
        &[
            r#"class="bty-job-row""#,
            r#"data-job-id="8""#,
            r#"data-status="failed""#
        ]
    ));
    assert!(html.contains(r#">running</span>"#));
    assert!(has_tag(
        &html,
        &[r#"role="progressbar""#, r#"aria-valuenow="25""#]
    ));
    assert!(html.contains(">25%</div>"));
    assert!(html.contains("1.0 GiB / 4.0 GiB"));
    assert!(html.contains("350 MB/s"));
    assert!(has_tag(
        &html,
        &["bty-job-cancel", r#"data-name="disk.img""#]
    ));
    let full = format!(r#"title="{}""#, "e".repeat(80));
    assert!(has_tag(&html, &[r#"class="bty-job-error""#, &full]));
    assert!(html.contains(&format!(">{}</div>", "e".repeat(60))));
    assert_eq!(html.matches("bty-job-cancel").count(), 1);
}

#[test]
fn the_hashes_pane_lists_an_inspection_as_a_job_of_its_kind() {
    let inspecting = Job {
        id: 12,
        kind: JobKind::Inspect,
        name: "disk.img.zst".into(),
        status: JobStatus::Running,
        bytes_done: 512 * 1024 * 1024,
        bytes_total: Some(2 * 1024 * 1024 * 1024),
        sha256: None,
        error: None,
        started_at: Some(1.0),
        finished_at: None,
        rate_bps: Some(800_000_000.0),
        attempt: 0,
    };
    let data = page(vec![], vec![inspecting], vec![]);
    let hashes = render(&data, |live| {
        view! { <JobsPane kind=JobKind::Hash live/> }.into_any()
    });
    assert!(has_tag(
        &hashes,
        &[
            r#"class="bty-job-row""#,
            r#"data-name="disk.img.zst""#,
            r#"data-kind="inspect""#,
            r#"data-status="running""#
        ]
    ));
    assert!(hashes.contains("512.0 MiB / 2.0 GiB"), "{hashes}");
    assert!(hashes.contains("800 MB/s"));
    assert!(has_tag(
        &hashes,
        &["bty-job-cancel", r#"data-name="disk.img.zst""#]
    ));
    let downloads = render(&data, |live| {
        view! { <JobsPane kind=JobKind::Download live/> }.into_any()
    });
    assert!(!downloads.contains("disk.img.zst"));
}

#[test]
fn an_empty_pane_says_so() {
    let html = render(&page(vec![], vec![], vec![]), |live| {
        view! { <JobsPane kind=JobKind::Download live/> }.into_any()
    });
    assert!(html.contains(r#"<tbody class="bty-downloads-tbody">"#));
    assert!(html.contains("No downloads."));
}

#[test]
fn events_show_time_kind_and_a_source_ip_link() {
    let event = Event {
        id: 3,
        ts: "2026-05-17T20:21:09.155109+00:00".into(),
        kind: "image.hash_failed".into(),
        subject_kind: Some("image".into()),
        subject_id: Some("disk.img".into()),
        actor: Some("system".into()),
        source_ip: Some("::1".into()),
        summary: "hash failed".into(),
        details: None,
    };
    let html = render(&page(vec![], vec![], vec![event]), |live| {
        view! { <EventsCard live/> }.into_any()
    });
    assert!(html.contains("Recent image-catalog activity"));
    assert!(html.contains(r#"href="/ui/events?subject_kind=image""#));
    assert!(html.contains("2026-05-17 20:21:09 UTC"));
    assert!(html.contains(r#"badge badge-danger bty-event-kind"#));
    assert!(html.contains(r#"href="/ui/events?source_ip=%3A%3A1""#));
}

#[test]
fn no_events_no_card() {
    let html = render(&page(vec![], vec![], vec![]), |live| {
        view! { <EventsCard live/> }.into_any()
    });
    assert!(!html.contains("Recent image-catalog activity"));
}

#[test]
fn the_hash_button_says_hashing_while_its_job_is_under_way() {
    let running = Job {
        id: 7,
        kind: JobKind::Hash,
        name: "local.img".into(),
        status: JobStatus::Running,
        bytes_done: 1,
        bytes_total: Some(2),
        sha256: None,
        error: None,
        started_at: Some(1.0),
        finished_at: None,
        rate_bps: None,
        attempt: 0,
    };
    let local = row(
        "local.img",
        None,
        true,
        (SourceKind::Local, "/srv/images/local.img"),
    );
    let idle = page(vec![local.clone()], vec![], vec![]);
    let busy = page(vec![local], vec![running], vec![]);
    let draw = |data: &ImagesPage| {
        render(data, |live| {
            provide_context(live);
            view! { <CatalogTable live/> }.into_any()
        })
    };
    let idle_html = draw(&idle);
    assert!(idle_html.contains(">Hash<"), "{idle_html}");
    assert!(
        !has_tag(&idle_html, &["bty-hash-btn", "disabled"]),
        "{idle_html}"
    );
    let busy_html = draw(&busy);
    assert!(busy_html.contains("Hashing…"), "{busy_html}");
    assert!(
        has_tag(&busy_html, &["bty-hash-btn", "disabled"]),
        "{busy_html}"
    );
}

#[test]
fn the_upload_section_offers_a_drop_zone_and_a_picker_for_several_images() {
    let local = row(
        "local.img",
        Some(SHA),
        true,
        (SourceKind::Local, "/srv/images/local.img"),
    );
    let html = render(&page(vec![local], vec![], vec![]), |live| {
        let uploads = Uploads::new();
        view! { <UploadSection live uploads/> }.into_any()
    });
    assert!(
        has_tag(&html, &[r#"id="bty-dropzone""#, r#"class="bty-dropzone""#]),
        "{html}"
    );
    assert!(html.contains("Drop image files here or "), "{html}");
    assert!(
        has_tag(
            &html,
            &[
                r#"type="file""#,
                r#"id="upload-file""#,
                r#"name="file""#,
                " multiple",
                r#"accept=".img,.img.gz,.img.xz,.img.zst,.img.bz2,.qcow2""#,
            ]
        ),
        "{html}"
    );
    assert!(!html.contains(".iso"), "{html}");
    assert!(
        html.contains("<noscript>Uploading needs JavaScript"),
        "{html}"
    );
    // The first render, on the server and when hydrating, lists no upload.
    assert!(
        html.contains(r#"<tbody class="bty-uploads-tbody">"#),
        "{html}"
    );
    assert!(has_tag(&html, &[r#"class="bty-uploads-empty""#]), "{html}");
    assert!(html.contains("No uploads yet."), "{html}");
    assert!(!html.contains("bty-upload-row"), "{html}");
    // The catalog the uploads land in is right below.
    assert!(
        has_tag(
            &html,
            &[r#"class="bty-catalog-row""#, r#"data-ref="ref-local.img""#]
        ),
        "{html}"
    );
}

mod downloads;
mod sections;
