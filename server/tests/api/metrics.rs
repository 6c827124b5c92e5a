//! `GET /metrics`: the Prometheus scrape target moves with what happens.

use reqwest::StatusCode;

use crate::helpers::{sha256_hex, spawn_app};

const UPLOAD_REQUESTS: &str =
    r#"bty_http_requests_total{route="/images/{name}",method="PUT",status="200"}"#;
const HASH_JOBS_COMPLETED: &str = r#"bty_jobs{kind="hash",state="completed"}"#;

#[tokio::test]
async fn an_upload_moves_the_byte_counters_the_request_counter_and_the_job_counts() {
    let mut app = spawn_app().await;
    app.login().await;
    let before = app.scrape().await;

    let data = vec![7u8; 300_001];
    let response = app
        .client
        .put(app.url("/images/counted.img"))
        .header(
            "cookie",
            format!("bty-token={}", app.cookie.as_deref().unwrap_or("")),
        )
        .body(data.clone())
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("upload JSON");
    assert_eq!(body["sha256"], sha256_hex(&data));

    let after = app.scrape().await;
    let grew = |series: &str| after.value(series) - before.value(series);
    assert_eq!(grew("bty_uploaded_bytes_total"), data.len() as f64);
    assert_eq!(grew("bty_hashed_bytes_total"), data.len() as f64);
    assert_eq!(grew(UPLOAD_REQUESTS), 1.0);
    assert_eq!(grew(HASH_JOBS_COMPLETED), 1.0);
    assert_eq!(
        grew(r#"bty_http_requests_total{route="/metrics",method="GET",status="200"}"#),
        1.0,
        "the first scrape is counted once it has answered"
    );
    assert!(after.0.contains_key("bty_cache_bytes"));
    assert!(after.value("bty_cache_free_bytes") > 0.0);
}

#[tokio::test]
async fn a_hash_job_adds_the_file_size_to_the_hashed_bytes() {
    let mut app = spawn_app().await;
    app.login().await;
    let before = app.scrape().await;
    app.write_image("dropped.img", &[1u8; 4096]);
    app.wait_until_hashed("dropped.img").await;
    let after = app
        .eventually(30, "the hash to be counted", || async {
            let scrape = app.scrape().await;
            (scrape.value("bty_hashed_bytes_total") > before.value("bty_hashed_bytes_total"))
                .then_some(scrape)
        })
        .await;
    assert_eq!(
        after.value("bty_hashed_bytes_total") - before.value("bty_hashed_bytes_total"),
        4096.0
    );
    assert_eq!(after.value("bty_uploaded_bytes_total"), 0.0);
}

#[tokio::test]
async fn requests_are_labelled_by_route_template_never_by_raw_path() {
    let mut app = spawn_app().await;
    app.login().await;
    for name in ["a.img", "b.img", "c.img"] {
        assert_eq!(
            app.get(&format!("/images/{name}")).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    app.get("/no/such/route").await;
    let scrape = app.scrape().await;
    assert_eq!(
        scrape
            .value(r#"bty_http_requests_total{route="/images/{name}",method="GET",status="404"}"#),
        3.0
    );
    assert!(
        !scrape
            .0
            .keys()
            .any(|series| series.contains("a.img") || series.contains("/no/such")),
        "raw paths leaked into labels"
    );
}

#[tokio::test]
async fn metrics_need_a_session_or_an_api_token() {
    let app = spawn_app().await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = response.json().await.expect("error JSON");
    assert_eq!(body["detail"], "login required");

    let token = app.create_api_token("prometheus").await;
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/openmetrics-text")));
    let text = response.text().await.expect("text");
    assert!(
        text.contains(r#"bty_http_requests_total{route="/metrics",method="GET",status="401"} 1"#)
    );
    assert!(text.trim_end().ends_with("# EOF"));
}
