//! API tokens: created, listed and revoked through the JSON API and the
//! `/ui/tokens` page; a bearer token acts as its operator on the JSON API
//! (and the events say so), never on `/ui/*` forms; revoking is immediate.

use reqwest::{header, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use server::{audit::Actor, auth::accounts, db::entity::api_token, live::Live};

use crate::helpers::{sha256_hex, spawn_app, TestApp};

/// Creates a token through the API with the app's cookie; the 201 body.
async fn create_token(app: &TestApp, name: &str) -> Value {
    let response = app.post_json("/auth/tokens", &json!({"name": name})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("JSON")
}

fn bearer(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    app.client
        .request(method, app.url(path))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
}

/// True when some opening tag holds every one of `attributes`.
fn has_tag(html: &str, attributes: &[&str]) -> bool {
    html.split('<')
        .filter_map(|rest| rest.split('>').next())
        .any(|tag| attributes.iter().all(|attribute| tag.contains(attribute)))
}

async fn listed(app: &TestApp) -> Vec<Value> {
    let body: Value = app.get("/auth/tokens").await.json().await.expect("JSON");
    body["tokens"].as_array().cloned().expect("tokens array")
}

#[tokio::test]
async fn tokens_are_created_listed_and_revoked_through_the_api() {
    let mut app = spawn_app().await;
    app.login().await;
    assert!(listed(&app).await.is_empty());

    let created = create_token(&app, "  ci  ").await;
    let secret = created["token"].as_str().expect("secret").to_owned();
    assert!(
        secret.starts_with("bty_") && secret.len() == 4 + 64,
        "{secret}"
    );
    assert_eq!(created["name"], "ci", "names are trimmed");
    assert!(created["revoked_at"].is_null());
    let id = created["id"].as_i64().expect("id");

    // Stored hashed: the secret itself is nowhere in the database.
    let row = api_token::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(row.token_hash, sha256_hex(secret.as_bytes()));

    let list_text = app.get("/auth/tokens").await.text().await.expect("body");
    assert!(
        !list_text.contains(&secret),
        "the list never shows a secret"
    );
    let tokens = listed(&app).await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["name"], "ci");
    assert!(tokens[0].get("token").is_none());

    let duplicate = app.post_json("/auth/tokens", &json!({"name": "ci"})).await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let body: Value = duplicate.json().await.expect("JSON");
    assert!(
        body["detail"].as_str().unwrap_or_default().contains("'ci'"),
        "{body}"
    );

    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(65)}),
        json!({"name": "a\u{7}b"}),
        json!({}),
    ] {
        let response = app.post_json("/auth/tokens", &bad).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(listed(&app).await.len(), 1, "refused names create nothing");

    let revoked = app.delete(&format!("/auth/tokens/{id}")).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let revoked: Value = revoked.json().await.expect("JSON");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert!(listed(&app).await[0]["revoked_at"].is_string());
    for missing in ["/auth/tokens/9999", "/auth/tokens/abc"] {
        assert_eq!(
            app.delete(missing).await.status(),
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    // The name is free again once revoked.
    create_token(&app, "ci").await;

    let made = app.events_of_kind("auth.token.created").await;
    assert_eq!(made.len(), 2);
    assert_eq!(made[0]["actor"], "admin");
    assert_eq!(made[0]["details"]["token_name"], "ci");
    let gone = app.events_of_kind("auth.token.revoked").await;
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0]["details"]["token_id"], id);
    assert!(!app
        .get("/events")
        .await
        .text()
        .await
        .expect("body")
        .contains(&secret));
}

#[tokio::test]
async fn a_bearer_token_acts_as_its_operator_and_events_name_the_token() {
    let mut app = spawn_app().await;
    app.login().await;
    let secret = create_token(&app, "ci").await["token"]
        .as_str()
        .expect("secret")
        .to_owned();

    let entries = bearer(&app, reqwest::Method::GET, "/catalog/entries", &secret)
        .send()
        .await
        .expect("GET");
    assert_eq!(entries.status(), StatusCode::OK);

    let upload = bearer(&app, reqwest::Method::PUT, "/images/ci.img", &secret)
        .body(b"bytes from ci".to_vec())
        .send()
        .await
        .expect("PUT");
    assert!(upload.status().is_success(), "{}", upload.status());
    let hash = bearer(&app, reqwest::Method::POST, "/catalog/hashes", &secret)
        .json(&json!({"name": "ci.img"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(hash.status(), StatusCode::ACCEPTED);
    let another = bearer(&app, reqwest::Method::POST, "/auth/tokens", &secret)
        .json(&json!({"name": "made-by-ci"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(another.status(), StatusCode::CREATED);

    let events = bearer(
        &app,
        reqwest::Method::GET,
        "/events?kind=image.uploaded",
        &secret,
    )
    .send()
    .await
    .expect("GET");
    assert_eq!(events.status(), StatusCode::OK);
    let events: Value = events.json().await.expect("JSON");
    let uploaded = &events["events"][0];
    assert_eq!(uploaded["actor"], "admin", "the operator stays the actor");
    assert_eq!(uploaded["details"]["token"], "ci");
    assert_eq!(
        uploaded["details"]["size_bytes"], 13,
        "other details are kept"
    );
    assert!(
        uploaded["summary"]
            .as_str()
            .unwrap_or_default()
            .ends_with("(API token 'ci')"),
        "{uploaded}"
    );
    let created = &app.events_of_kind("auth.token.created").await[0];
    assert_eq!(created["details"]["token_name"], "made-by-ci");
    assert_eq!(created["details"]["token"], "ci");
    // A session's events do not name a token.
    let by_session = &app.events_of_kind("auth.login.succeeded").await[0];
    assert!(by_session["details"].get("token").is_none(), "{by_session}");

    let mine = listed(&app).await;
    assert_eq!(mine.len(), 2, "tokens made with a token are the operator's");
    assert!(
        mine[0]["last_used_at"].is_string(),
        "use is noted: {mine:?}"
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let mut app = spawn_app().await;
    app.login().await;
    let created = create_token(&app, "short-lived").await;
    let secret = created["token"].as_str().expect("secret").to_owned();
    let use_it = || bearer(&app, reqwest::Method::GET, "/catalog/hashes", &secret).send();
    assert_eq!(use_it().await.expect("GET").status(), StatusCode::OK);
    let id = created["id"].as_i64().expect("id");
    assert_eq!(
        app.delete(&format!("/auth/tokens/{id}")).await.status(),
        StatusCode::OK
    );
    let refused = use_it().await.expect("GET");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["detail"], "login required");
}

#[tokio::test]
async fn bearer_tokens_do_not_open_ui_forms() {
    let mut app = spawn_app().await;
    app.login().await;
    let created = create_token(&app, "ci").await;
    let secret = created["token"].as_str().expect("secret").to_owned();
    let id = created["id"].as_i64().expect("id");

    let create = bearer(&app, reqwest::Method::POST, "/ui/tokens", &secret)
        .form(&[("name", "sneaky")])
        .send()
        .await
        .expect("POST");
    assert_eq!(create.status(), StatusCode::SEE_OTHER);
    assert_eq!(create.headers()[header::LOCATION], "/ui/login");
    let revoke = bearer(
        &app,
        reqwest::Method::POST,
        &format!("/ui/tokens/{id}/revoke"),
        &secret,
    )
    .send()
    .await
    .expect("POST");
    assert_eq!(revoke.status(), StatusCode::SEE_OTHER);
    assert_eq!(revoke.headers()[header::LOCATION], "/ui/login");
    let upload_form = bearer(
        &app,
        reqwest::Method::POST,
        "/ui/catalog/fetch-release",
        &secret,
    )
    .send()
    .await
    .expect("POST");
    assert_eq!(upload_form.status(), StatusCode::UNAUTHORIZED);

    let tokens = listed(&app).await;
    assert_eq!(tokens.len(), 1, "nothing was created");
    assert!(tokens[0]["revoked_at"].is_null(), "nothing was revoked");
}

#[tokio::test]
async fn a_cross_origin_post_with_a_valid_cookie_is_refused() {
    let mut app = spawn_app().await;
    app.login().await;
    let id = create_token(&app, "ci").await["id"].as_i64().expect("id");
    let cookie = format!("bty-token={}", app.cookie.clone().expect("cookie"));
    let create = app
        .client
        .post(app.url("/auth/tokens"))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "http://evil.example")
        .json(&json!({"name": "evil"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(create.status(), StatusCode::FORBIDDEN);
    let revoke = app
        .client
        .delete(app.url(&format!("/auth/tokens/{id}")))
        .header(header::COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(revoke.status(), StatusCode::FORBIDDEN);
    let form = app
        .client
        .post(app.url(&format!("/ui/tokens/{id}/revoke")))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "http://evil.example")
        .send()
        .await
        .expect("POST");
    assert_eq!(form.status(), StatusCode::FORBIDDEN);
    let tokens = listed(&app).await;
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0]["revoked_at"].is_null());
}

#[tokio::test]
async fn the_tokens_page_shows_a_new_secret_once_and_revokes() {
    let mut app = spawn_app().await;
    app.login().await;
    let images = app.get("/ui/images").await.text().await.expect("page");
    assert!(
        images.contains(r#"href="/ui/tokens""#),
        "the top bar links the page"
    );
    let empty = app.get("/ui/tokens").await;
    assert_eq!(empty.status(), StatusCode::OK);
    let empty = empty.text().await.expect("page");
    assert!(empty.contains("API tokens") && empty.contains("No API tokens yet."));
    assert!(
        has_tag(
            &empty,
            &[r#"class="topnav-link active""#, r#"href="/ui/tokens""#]
        ),
        "the top bar marks the page"
    );
    assert!(!has_tag(
        &empty,
        &[r#"class="topnav-link active""#, r#"href="/ui/images""#]
    ));
    assert!(has_tag(
        &images,
        &[r#"class="topnav-link active""#, r#"href="/ui/images""#]
    ));

    let post_form = |fields: Vec<(&'static str, String)>| {
        let cookie = format!("bty-token={}", app.cookie.clone().unwrap_or_default());
        app.client
            .post(app.url("/ui/tokens"))
            .header(header::COOKIE, cookie)
            .form(&fields)
            .send()
    };
    let created = post_form(vec![("name", "deploy".into())])
        .await
        .expect("POST");
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(created.headers()[header::CACHE_CONTROL], "no-store");
    let page = created.text().await.expect("page");
    let secret = page
        .split(r#"<code class="bty-token-secret">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the page shows the secret")
        .to_owned();
    assert!(secret.starts_with("bty_"), "{secret}");
    let works = bearer(&app, reqwest::Method::GET, "/catalog/hashes", &secret)
        .send()
        .await
        .expect("GET");
    assert_eq!(works.status(), StatusCode::OK);
    let again = app.get("/ui/tokens").await.text().await.expect("page");
    assert!(again.contains("deploy"));
    assert!(!again.contains(&secret), "the secret is shown only once");

    let taken = post_form(vec![("name", "deploy".into())])
        .await
        .expect("POST");
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert!(taken
        .text()
        .await
        .expect("page")
        .contains("bty-token-error"));
    let blank = post_form(vec![("name", " ".into())]).await.expect("POST");
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank
        .text()
        .await
        .expect("page")
        .contains("1 to 64 printable characters"));

    // Someone else's token is not this operator's to see or revoke.
    let db = &app.state.db;
    let live = Live::default();
    accounts::add(db, &live, &Actor::cli(), "bob", "bobs password".into())
        .await
        .expect("bob");
    let bob = accounts::operator(db, "bob").await.expect("bob");
    let bobs = server::auth::tokens::create(db, &live, &Actor::cli(), &bob, "bobs")
        .await
        .expect("bob's token");
    assert_eq!(listed(&app).await.len(), 1);
    let cookie = format!("bty-token={}", app.cookie.clone().unwrap_or_default());
    let revoke = |id: i64| {
        app.client
            .post(app.url(&format!("/ui/tokens/{id}/revoke")))
            .header(header::COOKIE, cookie.clone())
            .send()
    };
    let foreign = revoke(bobs.record.id).await.expect("POST");
    assert_eq!(foreign.status(), StatusCode::SEE_OTHER);
    assert!(foreign.headers()[header::LOCATION]
        .to_str()
        .unwrap_or_default()
        .contains("error="));
    assert_eq!(
        app.delete(&format!("/auth/tokens/{}", bobs.record.id))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let still = api_token::Entity::find()
        .filter(api_token::Column::Id.eq(bobs.record.id))
        .one(db)
        .await
        .expect("query")
        .expect("row");
    assert!(still.revoked_at.is_none());

    let id = listed(&app).await[0]["id"].as_i64().expect("id");
    let revoked = revoke(id).await.expect("POST");
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(revoked.headers()[header::LOCATION], "/ui/tokens");
    let refused = bearer(&app, reqwest::Method::GET, "/catalog/hashes", &secret)
        .send()
        .await
        .expect("GET");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let page = app.get("/ui/tokens").await.text().await.expect("page");
    assert!(page.contains(">revoked<"));
    assert!(!page.contains(&format!("/ui/tokens/{id}/revoke")));
}

#[tokio::test]
async fn the_database_keeps_active_token_names_distinct_per_operator() {
    use sea_orm::{ActiveModelTrait, Set};
    let app = spawn_app().await;
    let row = |hash: &str, revoked: Option<&str>| api_token::ActiveModel {
        operator_id: Set(1),
        name: Set("same".into()),
        token_hash: Set(hash.into()),
        created_at: Set(server::clock::now_iso()),
        last_used_at: Set(None),
        revoked_at: Set(revoked.map(str::to_owned)),
        ..Default::default()
    };
    row("h1", Some("2026-01-01T00:00:00+00:00"))
        .insert(&app.state.db)
        .await
        .expect("a revoked token");
    row("h2", None)
        .insert(&app.state.db)
        .await
        .expect("an active one");
    let error = row("h3", None)
        .insert(&app.state.db)
        .await
        .expect_err("a second active token of that name is refused");
    assert!(
        matches!(
            error.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ),
        "{error}"
    );
    // The API says the name is taken.
    let mut app = app;
    app.login().await;
    let taken = app
        .post_json("/auth/tokens", &json!({"name": "same"}))
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
}
