//! The replica's name: on `/healthz` and in every page's footer.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_and_the_page_footer_name_the_replica_given_by_bty_node_id() {
    let mut app = spawn_app_with(|s| s.node_id = Some("web-2.example".into())).await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    let body: Value = health.json().await.expect("JSON");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["node"], "web-2.example");

    let login = app.get("/ui/login").await.text().await.expect("HTML");
    assert!(
        login.contains(r#"<span class="bty-node">web-2.example</span>"#),
        "{login}"
    );
    app.login().await;
    for path in ["/ui/images", "/ui/events", "/ui/tokens"] {
        let page = app.get(path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let html = page.text().await.expect("HTML");
        let footer = html
            .split(r#"<footer class="site-footer">"#)
            .nth(1)
            .unwrap_or_else(|| panic!("{path} has no footer: {html}"));
        assert!(footer.contains("web-2.example"), "{path}: {footer}");
        assert!(
            html.find("</main>") < html.find("<footer"),
            "{path}: the footer follows the page"
        );
    }
}

#[tokio::test]
async fn a_replica_without_a_name_is_called_by_its_host_name_and_port() {
    let app = spawn_app().await;
    let body: Value = app.get("/healthz").await.json().await.expect("JSON");
    let port = app.address.rsplit(':').next().expect("a port");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("host name");
    assert_eq!(body["node"], format!("{}:{port}", host.trim()));
}
