//! Interrupted transfers: a cut connection, an upstream that changed or
//! refuses ranges, busy answers, and a server restart mid-download.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::{
    helpers::{restart, sha256_hex},
    upstream_files::{content, FileUpstream, Seen},
};

#[tokio::test]
async fn a_cut_connection_resumes_with_a_range_request() {
    let bytes = content(2 * MIB, 4);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/cut.img")).await;
    upstream.cut_once_after(MIB);
    fetch(&app, json!({"name": name})).await;
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha);
    assert_eq!(done["attempt"], 2);
    assert_eq!(cached(&app, &sha).as_deref(), Some(&bytes[..]));
    let gets = upstream.gets();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_resumed_within_first_mib(&gets[1]);
}

#[tokio::test]
async fn an_upstream_that_changed_or_refuses_ranges_is_downloaded_from_zero() {
    let first = content(MIB, 5);
    let second = content(MIB + 7, 6);
    let upstream = FileUpstream::start(first).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/changing.img")).await;
    // Cut, and the content changes before the resume: If-Range no longer
    // matches, the upstream answers 200, the file starts over.
    upstream.cut_once_after(300_000);
    upstream.throttle(Some(Duration::from_millis(20)));
    fetch(&app, json!({"name": name})).await;
    app.eventually(30, "the cut", || async {
        (!upstream.gets().is_empty()).then_some(())
    })
    .await;
    upstream.set_content(second.clone());
    upstream.throttle(None);
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha256_hex(&second));
    assert_eq!(
        cached(&app, &sha256_hex(&second)).as_deref(),
        Some(&second[..])
    );

    // An upstream without ranges: the retry asks for the rest and gets it all.
    let other = content(MIB, 7);
    let plain = FileUpstream::start(other.clone()).await;
    plain.refuse_ranges();
    plain.cut_once_after(400_000);
    let name = add_url(&app, &plain.url("/plain.img")).await;
    fetch(&app, json!({"name": name})).await;
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha256_hex(&other));
    assert_eq!(
        cached(&app, &sha256_hex(&other)).as_deref(),
        Some(&other[..])
    );
}

#[tokio::test]
async fn busy_answers_are_retried_and_other_errors_fail_at_once() {
    let bytes = content(50_000, 8);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/busy.img")).await;
    upstream.fail(StatusCode::SERVICE_UNAVAILABLE, 1);
    upstream.fail(StatusCode::TOO_MANY_REQUESTS, 1);
    fetch(&app, json!({"name": name})).await;
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["attempt"], 3);
    assert_eq!(done["sha256"], sha256_hex(&bytes));

    let gone = FileUpstream::start(bytes).await;
    let name = add_url(&app, &gone.url("/gone.img")).await;
    gone.fail(StatusCode::FORBIDDEN, 1);
    fetch(&app, json!({"name": name})).await;
    let failed = wait_for(&app, &name, "failed").await;
    assert!(
        failed["error"].as_str().unwrap().contains("HTTP 403"),
        "{failed}"
    );
    assert_eq!(failed["attempt"], 1);
}

#[tokio::test]
async fn a_restart_mid_download_resumes_from_the_partial_file() {
    let bytes = content(4 * MIB, 9);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(2).await;
    let name = add_url(&app, &upstream.url("/long.img")).await;
    upstream.throttle(Some(Duration::from_millis(50)));
    fetch(&app, json!({"name": name})).await;
    app.eventually(30, "a few chunks on disk", || async {
        let files = cache_files(&app);
        let partial = files.iter().find(|f| f.ends_with(".bty-partial"))?;
        let size = std::fs::metadata(app.state.settings.cache_dir().join(partial))
            .ok()?
            .len();
        (size >= 256 * 1024).then_some(())
    })
    .await;
    let stopped = app.stop().await;
    upstream.throttle(None);
    let mut app = restart(stopped).await;
    app.login().await;
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha);
    assert_eq!(cached(&app, &sha).as_deref(), Some(&bytes[..]));
    let gets = upstream.gets();
    let last = gets.last().expect("a GET after the restart");
    assert!(
        last.range.as_deref().is_some_and(|r| r != "bytes=0-"),
        "{gets:?}"
    );
    assert_eq!(cache_files(&app), [sha]);
}

#[tokio::test]
async fn a_retry_after_a_failed_download_resumes_its_bytes() {
    let bytes = content(2 * MIB, 13);
    let sha = sha256_hex(&bytes);
    let upstream = FileUpstream::start(bytes.clone()).await;
    let app = app_with(1).await;
    let name = add_url(&app, &upstream.url("/flaky.img")).await;
    // Busy four times, then cut after 1 MiB: the fifth attempt gives up.
    upstream.fail(StatusCode::SERVICE_UNAVAILABLE, 4);
    upstream.cut_once_after(MIB);
    fetch(&app, json!({"name": name})).await;
    let failed = wait_for(&app, &name, "failed").await;
    assert!(
        failed["error"]
            .as_str()
            .unwrap_or_default()
            .contains("gave up after 5 attempts"),
        "{failed}"
    );
    assert!(
        cache_files(&app)
            .iter()
            .any(|f| f.ends_with(".bty-partial")),
        "the failed download's bytes are kept: {:?}",
        cache_files(&app)
    );

    let (status, _) = fetch(&app, json!({"name": name})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = wait_for(&app, &name, "completed").await;
    assert_eq!(done["sha256"], sha);
    assert_eq!(cached(&app, &sha).as_deref(), Some(&bytes[..]));
    assert_resumed_within_first_mib(&upstream.gets().pop().expect("the retry's GET"));
}

/// `request` asked for the rest of the file from a byte within the first
/// MiB (`Range: bytes=N-`), guarded by the upstream's first ETag.
fn assert_resumed_within_first_mib(request: &Seen) {
    let from: u64 = request
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a Range request: {request:?}"));
    assert!(from > 0 && from <= MIB as u64, "resumed from {from}");
    assert_eq!(request.if_range.as_deref(), Some("\"v1\""));
}
