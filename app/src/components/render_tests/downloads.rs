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
        quota_bytes: None,
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

#[test]
fn with_a_quota_the_downloads_header_shows_a_bar_of_the_cache_against_it() {
    let mut data = page(vec![], vec![], vec![]);
    data.cache = Some(CacheUsage {
        cache_dir: "/var/lib/bty/cache".into(),
        files: 3,
        bytes: 9 * GIB,
        free_bytes: Some(180 * GIB),
        total_bytes: Some(200 * GIB),
        quota_bytes: Some(10 * GIB),
    });
    let html = downloads_html(&data);
    assert!(
        html.contains("Cache: 3 files, 9.0 GiB used of 10.0 GiB quota, 180.0 GiB free"),
        "{html}"
    );
    assert!(
        has_tag(&html, &[r#"role="progressbar""#, r#"aria-valuenow="90""#]),
        "{html}"
    );
    assert!(
        html.contains("progress-bar bg-warning\""),
        "nearly full: {html}"
    );
    // Without a quota: the line alone, no bar.
    data.cache.as_mut().expect("usage").quota_bytes = None;
    let unlimited = downloads_html(&data);
    assert!(!unlimited.contains("bty-cache-quota"), "{unlimited}");
    assert!(!unlimited.contains("progressbar"), "{unlimited}");
}

#[test]
fn a_row_pinned_in_the_cache_shows_its_badge_and_offers_unpin() {
    let url = (SourceKind::Url, "https://example.test/keep.img");
    let mut pinned = row("keep.img", Some(&"a".repeat(64)), true, url);
    pinned.keep_cached = true;
    let loose = row("loose.img", Some(&"b".repeat(64)), true, url);
    let html = render(&page(vec![pinned, loose], vec![], vec![]), |live| {
        view! { <CatalogTable live/> }.into_any()
    });
    assert!(
        has_tag(&html, &[r#"class="badge badge-pinned""#, "never evicted"]),
        "{html}"
    );
    assert_eq!(html.matches("badge-pinned").count(), 1, "{html}");
    assert!(
        has_tag(&html, &["bty-unpin-btn", r#"data-name="keep.img""#]),
        "{html}"
    );
    assert!(
        has_tag(&html, &["bty-pin-btn", r#"data-name="loose.img""#]),
        "{html}"
    );
    assert!(!has_tag(&html, &["bty-pin-btn", r#"data-name="keep.img""#]));
}
