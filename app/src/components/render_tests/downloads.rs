//! The Downloads pane and the Update button, as the server renders them:
//! the cache's usage, attempts, Cancel / Retry, and "Updating…".

use leptos::prelude::*;

use super::{has_tag, page, render, row};
use crate::components::{CatalogTable, JobsPane};
use crate::model::{CacheUsage, ImagesPage, Job, JobKind, JobStatus, SourceKind};

const GIB: u64 = 1024 * 1024 * 1024;

fn download(id: i64, name: &str, status: JobStatus) -> Job {
    Job {
        id,
        kind: JobKind::Download,
        name: name.into(),
        status,
        bytes_done: GIB,
        bytes_total: Some(4 * GIB),
        sha256: None,
        error: None,
        started_at: Some(1.0),
        finished_at: None,
        rate_bps: Some(8_000_000.0),
        attempt: 1,
    }
}

fn downloads_html(data: &ImagesPage) -> String {
    render(data, |live| {
        view! { <JobsPane kind=JobKind::Download live caption=Some("2 at a time".into())/> }
            .into_any()
    })
}

#[test]
fn the_downloads_header_shows_the_caches_usage_and_free_space() {
    let mut data = page(vec![], vec![], vec![]);
    data.cache = Some(CacheUsage {
        cache_dir: "/var/lib/bty/cache".into(),
        files: 3,
        bytes: 4_509_715_660,
        free_bytes: Some(180 * GIB),
        total_bytes: Some(200 * GIB),
    });
    let html = downloads_html(&data);
    assert!(
        has_tag(
            &html,
            &[
                r#"class="bty-cache-usage""#,
                r#"title="Download cache: /var/lib/bty/cache""#
            ]
        ),
        "{html}"
    );
    assert!(
        html.contains("Cache: 3 files, 4.2 GiB used, 180.0 GiB free"),
        "{html}"
    );
    assert!(html.contains("2 at a time"), "{html}");
    // Before the server has measured the cache, the header says nothing.
    let unknown = downloads_html(&page(vec![], vec![], vec![]));
    assert!(!unknown.contains("bty-cache-usage"), "{unknown}");
}

#[test]
fn download_rows_show_progress_attempts_and_the_right_button() {
    let mut running = download(1, "big.img", JobStatus::Running);
    running.attempt = 3;
    let mut unknown_size = download(2, "rolling.img", JobStatus::Running);
    unknown_size.bytes_total = None;
    let mut failed = download(3, "gone.img", JobStatus::Failed);
    failed.error = Some("HTTP 404 from upstream".into());
    failed.attempt = 2;
    let cancelled = download(4, "stopped.img", JobStatus::Cancelled);
    let queued = download(5, "next.img", JobStatus::Queued);
    let html = downloads_html(&page(
        vec![],
        vec![running, unknown_size, failed, cancelled, queued],
        vec![],
    ));
    assert!(html.contains(r#"<tbody class="bty-downloads-tbody">"#));
    // The known size: a green bar with the percentage inside.
    assert!(has_tag(
        &html,
        &[r#"role="progressbar""#, r#"aria-valuenow="25""#]
    ));
    assert!(html.contains("progress-bar bg-success\""), "{html}");
    assert!(html.contains(">25%</div>"), "{html}");
    // The unknown size: striped and moving.
    assert!(
        html.contains("progress-bar bg-success progress-bar-striped progress-bar-animated"),
        "{html}"
    );
    assert!(html.contains("1.0 GiB / 4.0 GiB"), "{html}");
    assert!(html.contains("8.0 MB/s"), "{html}");
    assert!(html.contains(">6:43</td>"), "3 GiB left at 8 MB/s: {html}");
    assert!(has_tag(&html, &[r#"class="bty-job-attempt""#]), "{html}");
    assert!(html.contains(">attempt 3</span>"), "{html}");
    assert!(html.contains(">attempt 2</span>"), "{html}");
    assert_eq!(html.matches("bty-job-attempt").count(), 2, "{html}");
    assert!(html.contains(">HTTP 404 from upstream</div>"), "{html}");
    for name in ["big.img", "rolling.img", "next.img"] {
        assert!(
            has_tag(
                &html,
                &["bty-job-cancel", &format!(r#"data-name="{name}""#)]
            ),
            "{name}: {html}"
        );
    }
    for name in ["gone.img", "stopped.img"] {
        assert!(
            has_tag(&html, &["bty-job-retry", &format!(r#"data-name="{name}""#)]),
            "{name}: {html}"
        );
    }
    assert_eq!(html.matches("bty-job-cancel").count(), 3, "{html}");
    assert_eq!(html.matches("bty-job-retry").count(), 2, "{html}");
}

#[test]
fn the_update_button_says_updating_while_its_download_runs() {
    let mut rolling = row(
        "nightly.img",
        None,
        true,
        (SourceKind::Url, "https://example.test/nightly.img"),
    );
    rolling.rolling = true;
    let draw = |jobs: Vec<Job>| {
        render(&page(vec![rolling.clone()], jobs, vec![]), |live| {
            provide_context(live);
            view! { <CatalogTable live/> }.into_any()
        })
    };
    let idle = draw(vec![]);
    assert!(
        has_tag(&idle, &["bty-update-btn", r#"data-name="nightly.img""#]),
        "{idle}"
    );
    assert!(idle.contains(">Update<"), "{idle}");
    assert!(!has_tag(&idle, &["bty-update-btn", "disabled"]), "{idle}");
    assert!(
        !idle.contains("bty-fetch-btn"),
        "cached rows are not fetched: {idle}"
    );
    let busy = draw(vec![download(9, "nightly.img", JobStatus::Running)]);
    assert!(busy.contains("Updating…"), "{busy}");
    assert!(has_tag(&busy, &["bty-update-btn", "disabled"]), "{busy}");
}
