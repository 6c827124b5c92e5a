//! `oras://` resolution against axum fakes on 127.0.0.1: the auth
//! challenges, busy answers and slow or lying registries that a plain
//! docker-registry does not play.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    extract::Query,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::json;
use server::oras::{OrasError, ResolvedLayer};

use super::{client, client_with, oras};
use crate::registry::{Blob, OCI_MANIFEST, ORAS_LAYER};

/// A fake registry on 127.0.0.1; `build` gets its `host:port` and a hit counter.
struct Fake {
    host: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_fake(build: impl FnOnce(&str, Arc<AtomicUsize>) -> Router) -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let host = listener.local_addr().expect("address").to_string();
    let hits = Arc::new(AtomicUsize::new(0));
    let app = build(&host, hits.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    Fake { host, hits, task }
}

const FAKE_DISK: &[u8] = b"fake disk image";

/// A manifest with one disk layer holding [`FAKE_DISK`].
fn fake_manifest() -> Response {
    let disk = Blob::of(FAKE_DISK);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": Blob::of(b"{}").layer("application/vnd.oci.empty.v1+json", None),
        "layers": [disk.layer(ORAS_LAYER, Some("fake.img"))],
    });
    ([(header::CONTENT_TYPE, OCI_MANIFEST)], manifest.to_string()).into_response()
}

/// `ok` when the request carries `expected` authorization, else a 401 with `challenge`.
fn guarded(headers: &HeaderMap, expected: &str, challenge: &str, ok: Response) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given == Some(expected) {
        ok
    } else {
        let challenge = challenge.to_owned();
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
        )
            .into_response()
    }
}

/// A registry that wants a bearer token from its own `/token` realm; the
/// token service records the `Authorization` it was sent.
async fn bearer_fake(token_request_authorization: Arc<Mutex<Option<String>>>) -> Fake {
    serve_fake(|host, hits| {
        let challenge = format!(
            r#"Bearer realm="http://{host}/token",service="fake-registry",scope="repository:a/b:pull""#
        );
        let blob_challenge = challenge.clone();
        Router::new()
            .route(
                "/v2/a/b/manifests/1",
                get(move |headers: HeaderMap| async move {
                    guarded(&headers, "Bearer tok-1", &challenge, fake_manifest())
                }),
            )
            .route(
                "/v2/a/b/blobs/{digest}",
                get(move |headers: HeaderMap| async move {
                    guarded(&headers, "Bearer tok-1", &blob_challenge, FAKE_DISK.into_response())
                }),
            )
            .route(
                "/token",
                get(move |Query(query): Query<HashMap<String, String>>, headers: HeaderMap| {
                    hits.fetch_add(1, Ordering::SeqCst);
                    *token_request_authorization.lock().expect("lock") = headers
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    async move {
                        let service = query.get("service").map(String::as_str);
                        let scope = query.get("scope").map(String::as_str);
                        if (service, scope) == (Some("fake-registry"), Some("repository:a/b:pull")) {
                            Json(json!({"access_token": "tok-1", "expires_in": 300})).into_response()
                        } else {
                            StatusCode::BAD_REQUEST.into_response()
                        }
                    }
                }),
            )
    })
    .await
}

#[tokio::test]
async fn an_anonymous_bearer_challenge_is_followed_to_its_realm() {
    let sent = Arc::new(Mutex::new(None));
    let fake = bearer_fake(sent.clone()).await;
    let client = client(&fake.host);
    let layer = client
        .resolve(&oras(&format!("oras://{}/a/b:1", fake.host)), None)
        .await
        .expect("resolves");
    assert_eq!(layer.digest_hex, Blob::of(FAKE_DISK).hex());
    assert_eq!(layer.authorization.as_deref(), Some("Bearer tok-1"));
    assert_eq!(*sent.lock().expect("lock"), None, "anonymous");
    // The blob GET reuses the token; without it, it answers the challenge again.
    assert_eq!(
        &client.fetch_blob(&layer, 1024).await.expect("blob")[..],
        FAKE_DISK
    );
    assert_eq!(fake.hits.load(Ordering::SeqCst), 1);
    let expired = ResolvedLayer {
        authorization: None,
        ..layer
    };
    assert_eq!(
        &client.fetch_blob(&expired, 1024).await.expect("blob")[..],
        FAKE_DISK
    );
    assert_eq!(fake.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn configured_credentials_go_to_the_token_service() {
    let sent = Arc::new(Mutex::new(None));
    let fake = bearer_fake(sent.clone()).await;
    let client = client_with(&fake.host, |s| {
        s.oras_username = Some("u".into());
        s.oras_password = Some("s3cret".into());
    });
    client
        .resolve(&oras(&format!("oras://{}/a/b:1", fake.host)), None)
        .await
        .expect("resolves");
    // base64("u:s3cret")
    assert_eq!(
        sent.lock().expect("lock").as_deref(),
        Some("Basic dTpzM2NyZXQ=")
    );
}

#[tokio::test]
async fn basic_credentials_are_sent_when_the_registry_asks_for_them() {
    let fake = serve_fake(|_, _| {
        Router::new().route(
            "/v2/a/b/manifests/1",
            get(|headers: HeaderMap| async move {
                guarded(
                    &headers,
                    "Basic dTpzM2NyZXQ=",
                    r#"Basic realm="fake""#,
                    fake_manifest(),
                )
            }),
        )
    })
    .await;
    let reference = oras(&format!("oras://{}/a/b:1", fake.host));
    let error = client(&fake.host)
        .resolve(&reference, None)
        .await
        .expect_err("no credentials configured");
    assert!(matches!(error, OrasError::Unauthorized { .. }), "{error:?}");
    assert!(error.to_string().contains("BTY_ORAS_USERNAME"), "{error}");
    let with_credentials = client_with(&fake.host, |s| {
        s.oras_username = Some("u".into());
        s.oras_password = Some("s3cret".into());
    });
    let layer = with_credentials
        .resolve(&reference, None)
        .await
        .expect("resolves");
    assert_eq!(layer.authorization.as_deref(), Some("Basic dTpzM2NyZXQ="));
}

/// A registry whose manifest GET answers `failures` times with 503 first,
/// with `Retry-After: 0` when `retry_now`.
async fn busy_fake(failures: usize, retry_now: bool) -> Fake {
    serve_fake(|_, hits| {
        Router::new().route(
            "/v2/a/b/manifests/1",
            get(move || async move {
                if hits.fetch_add(1, Ordering::SeqCst) < failures {
                    let mut headers = HeaderMap::new();
                    if retry_now {
                        headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("0"));
                    }
                    (StatusCode::SERVICE_UNAVAILABLE, headers, "busy").into_response()
                } else {
                    fake_manifest()
                }
            }),
        )
    })
    .await
}

#[tokio::test]
async fn busy_answers_are_retried_until_the_registry_answers() {
    let fake = busy_fake(2, false).await;
    let layer = client(&fake.host)
        .resolve(&oras(&format!("oras://{}/a/b:1", fake.host)), None)
        .await
        .expect("resolves on the third attempt");
    assert_eq!(layer.digest_hex, Blob::of(FAKE_DISK).hex());
    assert_eq!(fake.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_registry_that_stays_busy_fails_after_four_attempts() {
    let fake = busy_fake(usize::MAX, true).await;
    let error = client(&fake.host)
        .resolve(&oras(&format!("oras://{}/a/b:1", fake.host)), None)
        .await
        .expect_err("always busy");
    assert!(error.to_string().contains("HTTP 503"), "{error}");
    assert!(error.to_string().contains("busy"), "{error}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_manifest_that_does_not_match_its_digest_is_refused() {
    let fake = serve_fake(|_, _| {
        Router::new().route(
            "/v2/a/b/manifests/{reference}",
            get(|| async { fake_manifest() }),
        )
    })
    .await;
    let wrong = "0".repeat(64);
    let error = client(&fake.host)
        .resolve(
            &oras(&format!("oras://{}/a/b@sha256:{wrong}", fake.host)),
            None,
        )
        .await
        .expect_err("digest mismatch");
    assert!(
        matches!(error, OrasError::DigestMismatch { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("expected sha256:{wrong}")),
        "{error}"
    );
}

#[tokio::test]
async fn a_registry_that_does_not_answer_times_out() {
    let fake = serve_fake(|_, _| {
        Router::new().route(
            "/v2/a/b/manifests/1",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                fake_manifest()
            }),
        )
    })
    .await;
    let reference = format!("oras://{}/a/b:1", fake.host);
    let error = client(&fake.host)
        .with_timeout(Duration::from_secs(1))
        .resolve(&oras(&reference), None)
        .await
        .expect_err("times out");
    assert_eq!(
        error.to_string(),
        format!("{reference}: no answer within 1 s")
    );
}
