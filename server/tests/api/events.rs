//! `GET /events`: filters, paging, limits and order.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

async fn kinds(app: &crate::helpers::TestApp, query: &str) -> Vec<String> {
    let body: Value = app
        .get(&format!("/events{query}"))
        .await
        .json()
        .await
        .expect("JSON");
    body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn events_filter_page_and_come_newest_first() {
    let mut app = spawn_app().await;
    app.post_login("admin", "wrong").await;
    app.post_login("someone", "wrong").await;
    app.login().await;

    assert_eq!(
        kinds(&app, "").await,
        [
            "auth.login.succeeded",
            "auth.login.failed",
            "auth.login.failed"
        ]
    );
    assert_eq!(
        kinds(&app, "?failed=1").await,
        ["auth.login.failed", "auth.login.failed"]
    );
    assert_eq!(
        kinds(&app, "?kind=auth.login.succeeded").await,
        ["auth.login.succeeded"]
    );
    assert_eq!(
        kinds(&app, "?subject_id=someone").await,
        ["auth.login.failed"]
    );
    assert_eq!(kinds(&app, "?actor=admin&subject_kind=auth").await.len(), 2);
    assert_eq!(kinds(&app, "?source_ip=10.0.0.1").await.len(), 0);
    assert_eq!(kinds(&app, "?limit=1").await, ["auth.login.succeeded"]);
    assert_eq!(
        kinds(&app, "?limit=0").await.len(),
        1,
        "limits clamp to at least 1"
    );

    let all: Value = app.get("/events").await.json().await.expect("JSON");
    let newest = all["events"][0]["id"].as_i64().expect("id");
    let older: Value = app
        .get(&format!("/events?before_id={newest}"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(older["events"].as_array().map(Vec::len), Some(2));
    assert!(older["events"][0]["id"].as_i64() < Some(newest));
    let event = &all["events"][0];
    for field in [
        "id",
        "ts",
        "kind",
        "subject_kind",
        "subject_id",
        "actor",
        "source_ip",
        "summary",
        "details",
    ] {
        assert!(event.get(field).is_some(), "{field} missing in {event}");
    }
}

#[tokio::test]
async fn a_non_integer_before_id_is_a_422() {
    let mut app = spawn_app().await;
    app.login().await;
    let response = app.get("/events?before_id=abc").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["query", "before_id"])
    );
}
