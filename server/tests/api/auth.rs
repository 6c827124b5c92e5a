//! Login, logout, revoked cookies, the gates on every route, throttling.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{session_cookie, set_cookie, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn json_routes_answer_401_login_required_without_a_session() {
    let app = spawn_app().await;
    let requests = [
        app.get("/catalog/hashes").await,
        app.enqueue_hash("x.img").await,
        app.delete("/catalog/hashes/x.img").await,
        app.get("/events").await,
        app.get("/events/live").await,
    ];
    for response in requests {
        let url = response.url().to_string();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{url}");
        let body: Value = response.json().await.expect("JSON body");
        assert_eq!(body, json!({"detail": "login required"}), "{url}");
    }
}

#[tokio::test]
async fn ui_pages_redirect_to_the_login_page_without_a_session() {
    let app = spawn_app().await;
    for path in ["/ui/images", "/ui/images?section=fetch", "/ui/events"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()["location"], "/ui/login", "{path}");
    }
}

#[tokio::test]
async fn open_routes_answer_without_a_session() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let version: Value = app.get("/version").await.json().await.expect("JSON");
    assert_eq!(version["name"], "bty-web");
    let login = app.get("/ui/login").await;
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.expect("HTML");
    assert!(html.contains("name=\"password\""), "{html}");
    assert!(html.contains("action=\"/ui/login\""), "{html}");
}

#[tokio::test]
async fn a_correct_password_starts_a_session_with_a_strict_http_only_cookie() {
    let app = spawn_app().await;
    let response = app.post_login("admin", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/ui/images");
    let cookie = set_cookie(&response).expect("a bty-token cookie");
    for attribute in ["Path=/", "Max-Age=604800", "HttpOnly", "SameSite=Strict"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing in {cookie}"
        );
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http gets no Secure flag: {cookie}"
    );

    let mut app = app;
    app.cookie = session_cookie(&response);
    let page = app.get("/ui/images").await;
    assert_eq!(page.status(), StatusCode::OK);
    // Every authenticated response slides the 7-day window.
    assert!(set_cookie(&page).is_some_and(|c| c.contains("Max-Age=604800")));
    assert_eq!(app.get("/catalog/hashes").await.status(), StatusCode::OK);

    let events: Value = app
        .get("/events?kind=auth.login.succeeded")
        .await
        .json()
        .await
        .expect("JSON");
    let event = &events["events"][0];
    assert_eq!(event["subject_kind"], "auth");
    assert_eq!(event["subject_id"], "admin");
    assert_eq!(event["source_ip"], "127.0.0.1");
}

#[tokio::test]
async fn a_wrong_password_renders_the_form_again_and_is_logged() {
    let mut app = spawn_app().await;
    let response = app.post_login("admin", "wrong").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookie(&response).is_none());
    let html = response.text().await.expect("HTML");
    assert!(
        html.contains("Invalid password for &#x27;admin&#x27;.")
            || html.contains("Invalid password for 'admin'."),
        "{html}"
    );
    assert!(html.contains("alert-danger"), "{html}");

    let unknown = app.post_login("mallory", "x").await;
    assert_eq!(unknown.status(), StatusCode::OK);

    app.login().await;
    let failed: Value = app
        .get("/events?kind=auth.login.failed")
        .await
        .json()
        .await
        .expect("JSON");
    let subjects: Vec<_> = failed["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["subject_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(subjects, ["mallory", "admin"]);
}

#[tokio::test]
async fn logout_revokes_the_session_so_the_old_cookie_stops_working() {
    let mut app = spawn_app().await;
    app.login().await;
    assert_eq!(app.get("/ui/images").await.status(), StatusCode::OK);

    let response = app
        .client
        .post(app.url("/ui/logout"))
        .header(
            "cookie",
            format!("bty-token={}", app.cookie.clone().unwrap_or_default()),
        )
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/ui/login");
    assert!(set_cookie(&response).is_some_and(|c| c.contains("Max-Age=0")));

    // The client still holds the old cookie: it no longer opens anything.
    let page = app.get("/ui/images").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/catalog/hashes").await.status(),
        StatusCode::UNAUTHORIZED
    );

    app.login().await;
    let logouts: Value = app
        .get("/events?kind=auth.logout")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(logouts["events"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn repeated_failed_logins_from_one_address_are_slowed_down() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(
            app.post_login("admin", "guess").await.status(),
            StatusCode::OK
        );
    }
    let refused = app.post_login("admin", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(
        set_cookie(&refused).is_none(),
        "even the right password waits"
    );
    let html = refused.text().await.expect("HTML");
    assert!(html.contains("Too many failed logins"), "{html}");
}

#[tokio::test]
async fn an_https_public_url_makes_the_cookie_secure() {
    let app = spawn_app_with(|s| s.public_url = Some("https://bty.example.org".into())).await;
    let response = app.post_login("admin", PASSWORD).await;
    assert!(set_cookie(&response).is_some_and(|c| c.ends_with("; Secure")));
}

#[tokio::test]
async fn the_first_start_without_a_password_generates_one_into_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let mut app = spawn_app_with(|s| s.admin_password = None).await;
    let file = app.state_dir().join("admin-password");
    let mode = std::fs::metadata(&file)
        .expect("password file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let password = std::fs::read_to_string(&file)
        .expect("readable")
        .trim()
        .to_owned();
    assert!(password.len() >= 16);
    let response = app.post_login("admin", &password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.cookie = session_cookie(&response);
    assert_eq!(app.get("/catalog/hashes").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_cross_site_request_cannot_act_with_the_operators_cookie() {
    let mut app = spawn_app().await;
    app.login().await;
    app.write_image("csrf.img", b"x");
    app.wait_until_hashed("csrf.img").await;
    let cookie = format!("bty-token={}", app.cookie.clone().unwrap_or_default());
    let host = app.address.trim_start_matches("http://").to_owned();
    let attempt = |headers: Vec<(&'static str, String)>| {
        let mut request = app
            .client
            .post(app.url("/catalog/hashes"))
            .header("cookie", cookie.clone())
            .json(&json!({"name": "csrf.img"}));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move { request.send().await.expect("POST") }
    };
    for headers in [
        vec![("origin", "http://evil.example".to_owned())],
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![
            ("sec-fetch-site", "same-site".to_owned()),
            ("origin", format!("http://{host}")),
        ],
        vec![("origin", "null".to_owned())],
    ] {
        let response = attempt(headers.clone()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["detail"], "cross-site request refused");
    }
    for headers in [
        vec![],
        vec![("origin", format!("http://{host}"))],
        vec![("sec-fetch-site", "same-origin".to_owned())],
    ] {
        let response = attempt(headers.clone()).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{headers:?}");
    }
    // Reads are not state changes.
    let read = app
        .client
        .get(app.url("/catalog/hashes"))
        .header("cookie", cookie.clone())
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("GET");
    assert_eq!(read.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_api_token_opens_the_json_api_but_not_the_ui() {
    let app = spawn_app().await;
    let token = app.create_api_token("ci").await;
    let bearer = format!("Bearer {token}");
    let api = app
        .client
        .get(app.url("/catalog/hashes"))
        .header("authorization", &bearer)
        .send()
        .await
        .expect("GET");
    assert_eq!(api.status(), StatusCode::OK);
    let page = app
        .client
        .get(app.url("/ui/images"))
        .header("authorization", &bearer)
        .send()
        .await
        .expect("GET");
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "pages need a login");
    let form = app
        .client
        .post(app.url("/ui/catalog/fetch-release"))
        .header("authorization", &bearer)
        .send()
        .await
        .expect("POST");
    assert_eq!(
        form.status(),
        StatusCode::UNAUTHORIZED,
        "UI forms refuse tokens"
    );
    let wrong = app
        .client
        .get(app.url("/catalog/hashes"))
        .header("authorization", "Bearer nope")
        .send()
        .await
        .expect("GET");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}
