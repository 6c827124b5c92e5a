//! `/ui/events`: the server-rendered audit trail with its filters.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

/// How many event rows the page holds.
fn rows(html: &str) -> usize {
    html.matches(r#"class="bty-event-row""#).count()
}

#[tokio::test]
async fn the_events_page_filters_the_log_server_side() {
    let mut app = spawn_app().await;
    app.post_login("admin", "wrong").await;
    app.post_login("someone", "wrong").await;
    app.login().await;

    let page = app.get("/ui/events").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("HTML");
    assert!(html.contains(r#"class="bty-events-page-tbody""#), "{html}");
    assert_eq!(rows(&html), 3);
    assert!(html.contains("auth.login.succeeded"));
    assert!(html.contains(r#"action="/ui/events""#));
    assert!(!html.contains("bty-events-older"), "fewer than 50 rows");

    // Empty values are treated as absent.
    let html = app
        .get("/ui/events?kind=&subject_kind=&subject_id=&actor=&source_ip=&failed=")
        .await
        .text()
        .await
        .expect("HTML");
    assert_eq!(rows(&html), 3);

    let html = app
        .get("/ui/events?failed=1")
        .await
        .text()
        .await
        .expect("HTML");
    assert_eq!(rows(&html), 2);
    assert!(html.contains("badge badge-danger bty-event-kind"));

    let html = app
        .get("/ui/events?subject_kind=auth&subject_id=someone")
        .await
        .text()
        .await
        .expect("HTML");
    assert_eq!(rows(&html), 1);

    let html = app
        .get("/ui/events?kind=image.hashed")
        .await
        .text()
        .await
        .expect("HTML");
    assert_eq!(rows(&html), 0);
    assert!(html.contains("No events match the current filter."));
}
