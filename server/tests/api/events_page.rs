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

#[tokio::test]
async fn the_actor_dropdown_offers_every_operator_by_name() {
    let mut app = spawn_app().await;
    server::auth::accounts::add(
        &app.state.db,
        &app.state.live,
        &server::audit::Actor::cli(),
        "alice",
        "correct horse battery".into(),
    )
    .await
    .expect("operator added");
    app.login().await;
    let alice = app.post_login("alice", "correct horse battery").await;
    assert_eq!(alice.status(), StatusCode::SEE_OTHER);

    let html = app
        .get("/ui/events?actor=alice")
        .await
        .text()
        .await
        .expect("HTML");
    let actors = html
        .split(r#"name="actor""#)
        .nth(1)
        .and_then(|rest| rest.split("</select>").next())
        .expect("the Actor dropdown");
    for actor in ["admin", "alice", "system", "pxe-client", "cli"] {
        assert!(
            actors.contains(&format!(r#"value="{actor}""#)),
            "{actor} missing: {actors}"
        );
    }
    assert!(
        actors.contains("selected"),
        "the chosen actor is kept: {actors}"
    );
    // The filter works on the names the dropdown offers.
    assert_eq!(rows(&html), 1, "alice's one login: {html}");
    assert!(
        html.contains("operator &#x27;alice&#x27; logged in")
            || html.contains("operator 'alice' logged in")
    );
}
