//! `GET /openapi.json`: generated from the code, and complete. The router's
//! routes cannot be listed, so completeness is checked from what it does:
//! every path template the code and the reference name is asked with every
//! method, and the request counter of `/metrics` (labelled by the matched
//! route template) tells which path and method a route answered. Each one
//! answered (not 405, not the fallback) must be in the document, and each
//! documented operation must be answered at exactly its template.

use std::collections::{BTreeSet, HashSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

/// Reference section 1.1, by route number.
const REFERENCE_ROUTES: [(&str, &str, &str); 26] = [
    ("R1", "GET", "/ui/images"),
    ("R2", "PUT", "/images/{name}"),
    ("R3", "GET", "/images"),
    ("R4", "GET", "/images/{key}"),
    ("R4", "HEAD", "/images/{key}"),
    ("R4", "GET", "/images/{key}/{name}"),
    ("R4", "HEAD", "/images/{key}/{name}"),
    ("R5", "GET", "/catalog.toml"),
    ("R6", "POST", "/catalog/entries"),
    ("R7", "GET", "/catalog/entries"),
    ("R8", "DELETE", "/catalog/entries"),
    ("R9", "POST", "/catalog/import"),
    ("R10", "POST", "/ui/catalog/entries"),
    ("R11", "POST", "/ui/catalog/upload"),
    ("R12", "POST", "/ui/catalog/fetch-release"),
    ("R13", "GET", "/catalog/downloads"),
    ("R14", "POST", "/catalog/downloads"),
    ("R15", "DELETE", "/catalog/downloads/{name}"),
    ("R16", "DELETE", "/catalog/cache/{name}"),
    ("R17", "GET", "/catalog/hashes"),
    ("R18", "POST", "/catalog/hashes"),
    ("R19", "DELETE", "/catalog/hashes/{name}"),
    ("R20", "GET", "/events"),
    ("R21", "GET", "/ui/events"),
    ("R23", "POST", "/ui/login"),
    ("R23", "POST", "/ui/logout"),
];
// R22 (`GET /events/machines`) is the machines page's stream, outside the
// images subsystem; our stream is `GET /events/live`, documented below.

/// Every method a route could answer.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

/// `{anything}` and `{*anything}` as `{}`: templates compare by shape.
fn shape(template: &str) -> String {
    let mut shaped = String::new();
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_param = true;
                shaped.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => shaped.push(c),
            _ => {}
        }
    }
    shaped
}

/// A concrete path for a template.
fn concrete(template: &str) -> String {
    shape(template).replace("{}", "probe")
}

/// The (METHOD, path) pairs of the document.
fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("path item");
            METHODS
                .iter()
                .filter(|method| item.contains_key(&method.to_lowercase()))
                .map(|method| (method.to_string(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Route-shaped string literals in the server's routes and the app's page
/// list: the paths a route could be registered at, whatever way it is.
fn templates_in_source() -> BTreeSet<String> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![manifest.join("../app/src/lib.rs")];
    let mut dirs = vec![manifest.join("src/routes")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("routes dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let route_like = |text: &str| {
        text.len() > 1
            && text.starts_with('/')
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_.-{}*".contains(c))
    };
    files
        .iter()
        .flat_map(|file| {
            let source = std::fs::read_to_string(file).expect("source");
            source
                .split('"')
                .skip(1)
                .step_by(2)
                .filter(|text| route_like(text))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("OpenAPI JSON")
}

#[tokio::test]
async fn the_document_is_open_and_built_from_the_wire_types() {
    let app = spawn_app().await;
    let document = document(&app).await;
    assert!(document["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.")));
    let schemas = &document["components"]["schemas"];
    let row = &schemas["CatalogRow"]["properties"];
    assert!(
        row.get("ref").is_some() && row.get("image_ref").is_none(),
        "{row}"
    );
    let image = &schemas["ImageEntry"];
    assert!(image["properties"].get("ref").is_some());
    // Null while the sha is unknown, but always sent.
    assert_eq!(
        image["properties"]["sha_short"]["type"],
        serde_json::json!(["string", "null"])
    );
    assert!(
        image["required"]
            .as_array()
            .is_some_and(|required| required.contains(&serde_json::json!("sha_short"))),
        "{image}"
    );
    assert!(schemas["ErrorBody"]["properties"].get("detail").is_some());
    assert_eq!(
        schemas["JobStatus"]["enum"],
        serde_json::json!(["queued", "running", "completed", "cancelled", "failed"])
    );
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["cookie"]["in"], "cookie");
    assert_eq!(schemes["cookie"]["name"], "bty-token");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");

    let hashes = &document["paths"]["/catalog/hashes"]["post"];
    assert_eq!(
        hashes["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/EnqueueRequest"
    );
    assert_eq!(
        hashes["responses"]["202"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HashState"
    );
    assert_eq!(
        hashes["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    assert!(hashes["security"].is_array(), "authenticated routes say so");
    let listing = &document["paths"]["/images"]["get"];
    assert!(
        listing.get("security").is_none(),
        "open routes need no login"
    );
    let metrics = &document["paths"]["/metrics"]["get"];
    assert!(metrics["security"].is_array() && metrics["responses"].get("401").is_some());
    let upload = &document["paths"]["/images/{name}"]["put"]["requestBody"]["content"];
    assert_eq!(
        upload["application/octet-stream"]["schema"]["$ref"],
        "#/components/schemas/Binary"
    );
    assert_eq!(schemas["Binary"]["format"], "binary");
}

#[tokio::test]
async fn operation_ids_are_unique() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let mut ids = HashSet::new();
    for (method, path) in documented(&document) {
        let id = document["paths"][&path][method.to_lowercase()]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
            .to_owned();
        assert!(ids.insert(id.clone()), "operationId {id} is used twice");
    }
}

#[tokio::test]
async fn every_json_operation_documents_its_errors_and_every_operation_a_response() {
    let app = spawn_app().await;
    let document = document(&app).await;
    for (method, path) in documented(&document) {
        let operation = &document["paths"][&path][method.to_lowercase()];
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            !responses.is_empty(),
            "{method} {path} documents no response"
        );
        if operation.get("security").is_some() && !path.starts_with("/ui/") {
            assert!(
                responses.contains_key("401"),
                "{method} {path} needs a login but does not document its 401"
            );
        }
    }
}

#[tokio::test]
async fn the_reference_route_table_is_documented() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let documented: HashSet<(String, String)> = documented(&document)
        .into_iter()
        .map(|(method, path)| (method, shape(&path)))
        .collect();
    for (number, method, path) in REFERENCE_ROUTES {
        let present = documented.contains(&(method.to_owned(), shape(path)));
        assert!(present, "{number} {method} {path} is not in /openapi.json");
    }
    assert!(documented.contains(&("GET".to_owned(), "/events/live".to_owned())));
}

#[tokio::test]
async fn every_route_the_router_answers_is_documented_and_nothing_else() {
    let mut app = spawn_app_with(|settings| {
        // The Fetch catalog form must not reach out: a closed local port.
        settings.release_catalog_url = Some("http://127.0.0.1:9/catalog.toml".into());
    })
    .await;
    app.login().await;
    let document = document(&app).await;
    let documented = documented(&document);

    let mut templates = templates_in_source();
    templates.extend(documented.iter().map(|(_, path)| path.clone()));
    templates.extend(REFERENCE_ROUTES.iter().map(|(_, _, path)| path.to_string()));
    let mut paths: Vec<String> = templates.iter().map(|t| concrete(t)).collect();
    paths.sort();
    paths.dedup();
    // Logging out ends the session the other probes use: last.
    paths.sort_by_key(|path| path == "/ui/logout");
    assert!(paths.len() > 20, "too few candidate paths: {paths:?}");
    for path in &paths {
        for method in METHODS {
            let request = app
                .client
                .request(
                    Method::from_bytes(method.as_bytes()).expect("method"),
                    app.url(path),
                )
                .header(
                    "cookie",
                    format!("bty-token={}", app.cookie.as_deref().unwrap_or("")),
                );
            // Only the status and the counter matter; streams are dropped.
            request.send().await.expect("probe");
        }
    }

    app.login().await;
    let scrape = app.scrape().await;
    let answered: BTreeSet<(String, String)> = scrape
        .0
        .keys()
        .filter_map(|series| {
            let labels = series.strip_prefix("bty_http_requests_total{")?;
            let label = |name: &str| -> Option<String> {
                let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
                let end = labels[start..].find('"')? + start;
                Some(labels[start..end].to_owned())
            };
            let (route, method, status) = (label("route")?, label("method")?, label("status")?);
            (route != "fallback" && status != "405").then_some((method, route))
        })
        .collect();

    let implied_head = |method: &str, path: &str| {
        // axum answers HEAD wherever it answers GET; HTTP implies it.
        method == "HEAD" && documented.contains(&("GET".to_owned(), path.to_owned()))
    };
    let undocumented: Vec<String> = answered
        .iter()
        .filter(|(method, path)| {
            !documented.contains(&(method.clone(), path.clone())) && !implied_head(method, path)
        })
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "served but not in /openapi.json: {undocumented:?}. Register routes with \
         `.routes(routes!(handler))` and a `#[utoipa::path]` (see server/src/openapi.rs)"
    );
    let unanswered: Vec<String> = documented
        .iter()
        .filter(|operation| !answered.contains(*operation))
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        unanswered.is_empty(),
        "documented but not answered at that template: {unanswered:?}"
    );
}
