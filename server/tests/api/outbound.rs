//! The outbound policy (`BTY_OUTBOUND_ALLOW`, `BTY_OUTBOUND_DENY` and the
//! built-in rules) against real upstreams on 127.0.0.1: a loopback port is
//! denied, and every way of reaching it (its address, a name resolving to
//! it, a redirect, a catalog entry, a registry's token realm, a download)
//! is refused with the rule in the message, nothing reaches the denied
//! upstream, and nothing but the refusal is recorded.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use axum::{
    http::{header, StatusCode as AxumStatus},
    response::IntoResponse,
    routing::get,
    Router,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::settings::Settings;

use crate::{
    downloads::{cache_files, fetch, wait_for},
    helpers::{spawn_app_with, TestApp},
    upstream_files::{content, FileUpstream},
};

/// The rule denying `upstream`'s port on 127.0.0.1.
fn rule_for(upstream: &FileUpstream) -> String {
    upstream.base.trim_start_matches("http://").to_owned()
}

fn port_of(upstream: &FileUpstream) -> u16 {
    rule_for(upstream)
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port")
}

async fn app_denying(rule: &str) -> TestApp {
    app_with(|settings| settings.outbound_deny = rule.parse().expect("a valid rule")).await
}

async fn app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut app = spawn_app_with(adjust).await;
    app.login().await;
    app
}

async fn add(app: &TestApp, body: Value) -> (StatusCode, String) {
    let response = app.post_json("/catalog/entries", &body).await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    (
        status,
        body["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Adds `image_url`, which the policy must refuse: the 422's message.
async fn refused_add(app: &TestApp, image_url: &str) -> String {
    let (status, detail) = add(app, json!({"image_url": image_url})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{detail}");
    detail
}

/// The message of a refusal by the deny rule `rule` of `url`, which
/// connects to the address `rule` names.
fn denied_by(rule: &str, url: &str) -> String {
    format!("refused by BTY_OUTBOUND_DENY rule \"{rule}\": {url} connects to {rule}")
}

async fn entries(app: &TestApp) -> Vec<Value> {
    let response = app.get("/catalog/entries").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

/// Every event's kind, oldest first, without the login's.
async fn kinds(app: &TestApp) -> Vec<String> {
    let body: Value = app.get("/events").await.json().await.expect("events");
    let mut kinds: Vec<String> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["kind"].as_str().unwrap_or_default().to_owned())
        .filter(|kind| !kind.starts_with("auth."))
        .collect();
    kinds.reverse();
    kinds
}

/// The one `outbound.refused` event's details.
async fn refusal(app: &TestApp) -> Value {
    let events = app.events_of_kind("outbound.refused").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["subject_kind"], "outbound");
    events[0]["details"].clone()
}

/// Asserts the refused add left no row, only its event, and sent nothing
/// to `denied`; returns the event's details.
async fn assert_nothing_but_the_refusal(app: &TestApp, denied: &FileUpstream) -> Value {
    assert_eq!(entries(app).await, Vec::<Value>::new(), "no row");
    assert_eq!(kinds(app).await, ["outbound.refused"]);
    assert!(denied.seen().is_empty(), "{:?}", denied.seen());
    refusal(app).await
}

#[tokio::test]
async fn an_add_by_url_to_a_denied_port_is_refused_with_its_rule() {
    let denied = FileUpstream::start(content(1000, 1)).await;
    let rule = rule_for(&denied);
    let app = app_denying(&rule).await;

    let url = denied.url("/x.img");
    let detail = refused_add(&app, &url).await;
    assert_eq!(detail, denied_by(&rule, &url));
    let details = assert_nothing_but_the_refusal(&app, &denied).await;
    assert_eq!(
        details,
        json!({"url": url, "list": "BTY_OUTBOUND_DENY", "rule": rule, "address": rule, "purpose": "add"})
    );
}

#[tokio::test]
async fn an_add_through_a_name_resolving_to_a_denied_address_is_refused() {
    let denied = FileUpstream::start(content(1000, 2)).await;
    let rule = rule_for(&denied);
    let app = app_denying(&rule).await;

    let url = format!("http://localhost:{}/x.img", port_of(&denied));
    let detail = refused_add(&app, &url).await;
    assert_eq!(detail, denied_by(&rule, &url));
    let details = assert_nothing_but_the_refusal(&app, &denied).await;
    assert_eq!(details["url"], url);
    assert_eq!(details["address"], rule);
}

/// A server on 127.0.0.1 that answers every request with a 302 to `to`;
/// its base URL and a hit counter.
async fn redirecting_to(to: String) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        let to = to.clone();
        async move { (AxumStatus::FOUND, [(header::LOCATION, to)]).into_response() }
    });
    (serve(app).await, hits)
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    base
}

#[tokio::test]
async fn a_redirect_from_an_allowed_server_to_a_denied_port_is_refused() {
    let denied = FileUpstream::start(content(1000, 3)).await;
    let rule = rule_for(&denied);
    let target = denied.url("/x.img");
    let (allowed, hits) = redirecting_to(target.clone()).await;
    let app = app_denying(&rule).await;

    let url = format!("{allowed}/x.img");
    let detail = refused_add(&app, &url).await;
    assert_eq!(detail, denied_by(&rule, &target));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the allowed hop was asked");
    let details = assert_nothing_but_the_refusal(&app, &denied).await;
    assert_eq!(details["url"], target);

    // A redirect to a name that resolves to the denied address, likewise.
    let by_name = format!("http://localhost:{}/y.img", port_of(&denied));
    let (allowed, _) = redirecting_to(by_name.clone()).await;
    let detail = refused_add(&app, &format!("{allowed}/y.img")).await;
    assert!(
        detail.contains(&format!("rule \"{rule}\": {by_name} connects to {rule}")),
        "{detail}"
    );
    assert!(denied.seen().is_empty());
}

#[tokio::test]
async fn a_catalog_import_whose_entry_points_at_a_denied_port_is_refused() {
    let denied = FileUpstream::start(content(1000, 4)).await;
    let rule = rule_for(&denied);
    let allowed = crate::upstream::Upstream::start().await;
    let toml = format!(
        "version = 1\n\n[[images]]\nname = \"fine.img\"\nsrc = \"{}\"\n\n\
         [[images]]\nname = \"denied.img\"\nsrc = \"{}\"\n",
        allowed.url("/fine.img"),
        denied.url("/denied.img"),
    );
    allowed.put("/catalog.toml", toml.clone());
    let app = app_denying(&rule).await;

    let source = allowed.url("/catalog.toml");
    let response = app
        .client
        .post(app.url(&format!("/catalog/import?source={source}")))
        .header(
            header::COOKIE,
            format!("bty-token={}", app.cookie.as_deref().expect("cookie")),
        )
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.expect("JSON");
    let detail = body["detail"].as_str().expect("a message");
    assert_eq!(
        detail,
        format!(
            "entry 'denied.img' ({src}): refused by BTY_OUTBOUND_DENY rule \"{rule}\": \
             {src} connects to {rule}",
            src = denied.url("/denied.img")
        )
    );
    // Not even the allowed entry: the catalog is refused whole.
    let details = assert_nothing_but_the_refusal(&app, &denied).await;
    assert_eq!(details["purpose"], "catalog import");

    // The page's upload form refuses it the same way, and keeps no file.
    let response = app
        .upload_catalog_file("catalog.toml", toml.into_bytes())
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().expect("location");
    let location = percent_encoding::percent_decode_str(location).decode_utf8_lossy();
    assert_eq!(
        location,
        format!("/ui/images?error=catalog not imported: {detail}")
    );
    assert_eq!(entries(&app).await, Vec::<Value>::new());
    assert!(!app.state.settings.catalog_file().exists());
    assert!(denied.seen().is_empty());
}

/// A registry on 127.0.0.1 whose bearer challenge sends clients to the
/// token realm `realm`.
async fn registry_with_realm(realm: String) -> String {
    let challenge = format!(r#"Bearer realm="{realm}",service="fake",scope="repository:a/b:pull""#);
    let app = Router::new().route(
        "/v2/a/b/manifests/1",
        get(move || {
            let challenge = challenge.clone();
            async move {
                (
                    AxumStatus::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, challenge)],
                )
                    .into_response()
            }
        }),
    );
    serve(app).await
}

#[tokio::test]
async fn an_oras_registry_whose_token_realm_points_at_a_denied_port_is_refused() {
    let denied = FileUpstream::start(content(1000, 5)).await;
    let rule = rule_for(&denied);
    let realm = denied.url("/token");
    let registry = registry_with_realm(realm.clone()).await;
    let host = registry.trim_start_matches("http://").to_owned();
    let app = app_with(|settings| {
        settings.outbound_deny = rule.parse().expect("rule");
        settings.oras_insecure_registries = vec![host.clone()];
    })
    .await;

    let detail = refused_add(&app, &format!("oras://{host}/a/b:1")).await;
    assert_eq!(detail, denied_by(&rule, &realm));
    let details = assert_nothing_but_the_refusal(&app, &denied).await;
    assert_eq!(details["url"], realm);
}

#[tokio::test]
async fn a_refused_download_fails_with_the_rule_and_leaves_no_partial_file() {
    let denied = FileUpstream::start(content(1000, 6)).await;
    let rule = rule_for(&denied);
    let app = app_denying(&rule).await;
    // An import checks URLs as written; the name resolves when fetched.
    let url = format!("http://localhost:{}/late.img", port_of(&denied));
    crate::downloads::upload_catalog(
        &app,
        format!("version = 1\n\n[[images]]\nname = \"late.img\"\nsrc = \"{url}\"\n"),
    )
    .await;

    let (status, _) = fetch(&app, json!({"name": "late.img"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let failed = wait_for(&app, "late.img", "failed").await;
    let expected = denied_by(&rule, &url);
    assert_eq!(failed["error"], expected, "{failed}");
    assert_eq!(cache_files(&app), Vec::<String>::new(), "no partial file");
    assert!(denied.seen().is_empty());
    let details = refusal(&app).await;
    assert_eq!(details["purpose"], "download");
    assert_eq!(details["url"], url);
    let failures = app.events_of_kind("catalog.download.failed").await;
    assert_eq!(failures[0]["details"]["error"], expected);
}

#[tokio::test]
async fn an_allow_list_admits_only_what_it_names() {
    let allowed = FileUpstream::start(content(5000, 7)).await;
    let other = FileUpstream::start(content(5000, 8)).await;
    let rule = rule_for(&allowed);
    let app = app_with(|settings| settings.outbound_allow = rule.parse().expect("rule")).await;

    let url = other.url("/other.img");
    let detail = refused_add(&app, &url).await;
    let address = rule_for(&other);
    assert_eq!(
        detail,
        format!("refused by BTY_OUTBOUND_ALLOW (no rule admits it): {url} connects to {address}")
    );
    assert!(other.seen().is_empty());
    assert_eq!(refusal(&app).await["list"], "BTY_OUTBOUND_ALLOW");

    let (status, detail) = add(&app, json!({"image_url": allowed.url("/allowed.img")})).await;
    assert_eq!(status, StatusCode::CREATED, "{detail}");
    let (status, _) = fetch(&app, json!({"name": "allowed.img"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = wait_for(&app, "allowed.img", "completed").await;
    assert_eq!(done["bytes_downloaded"], 5000);
    // The same address under a name is on the list too: it resolves to it.
    let (status, detail) = add(
        &app,
        json!({"image_url": format!("http://localhost:{}/named.img", port_of(&allowed))}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{detail}");
}

#[tokio::test]
async fn by_default_metadata_and_link_local_places_are_refused_before_any_connection() {
    let app = app_with(|_| {}).await;
    // Each is refused by its URL: no packet leaves for these addresses.
    for (url, rule) in [
        (
            "http://169.254.169.254/latest/meta-data/x.img",
            "169.254.0.0/16",
        ),
        ("http://[fe80::1]/x.img", "fe80::/10"),
        (
            "http://metadata.google.internal/computeMetadata/x.img",
            "metadata.google.internal",
        ),
    ] {
        let detail = refused_add(&app, url).await;
        assert!(
            detail.starts_with(&format!("refused by the built-in rule \"{rule}\"")),
            "{detail}"
        );
        assert!(detail.contains(url), "{detail}");
    }
    assert_eq!(entries(&app).await, Vec::<Value>::new());
    assert_eq!(app.events_of_kind("outbound.refused").await.len(), 3);
    // Loopback stays reachable: labs serve images from it.
    let upstream = FileUpstream::start(content(100, 9)).await;
    let (status, detail) = add(&app, json!({"image_url": upstream.url("/ok.img")})).await;
    assert_eq!(status, StatusCode::CREATED, "{detail}");
}
