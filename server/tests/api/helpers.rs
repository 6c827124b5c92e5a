//! Spawning the application for a test, and talking to it like a client.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use app::model::{CatalogRow, HashState, LiveSnapshot};
use futures::StreamExt;
use reqwest::{header, redirect, Client, Response, StatusCode};
use serde_json::Value;
use server::{settings::Settings, startup::Application, state::AppState};
use tempfile::TempDir;
use tokio::task::JoinHandle;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub image_root: PathBuf,
    pub state: AppState,
    pub client: Client,
    /// The `bty-token` cookie after [`TestApp::login`].
    pub cookie: Option<String>,
    state_dir: Option<TempDir>,
    server: Option<JoinHandle<()>>,
}

/// A fresh application with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A fresh application; `adjust` may change the settings first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let state_dir = tempfile::tempdir().expect("temp state dir");
    let database_url = fresh_database().await;
    start(state_dir, database_url, adjust).await
}

/// SQLite in the state directory by default. With `BTY_TEST_POSTGRES_URL`
/// (a server URL such as `postgres://postgres@127.0.0.1:5432`), a fresh
/// PostgreSQL database per test instead, so the same suite covers both.
async fn fresh_database() -> Option<String> {
    use sea_orm::ConnectionTrait;
    let server = std::env::var("BTY_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let server = server.trim_end_matches('/');
    let name = format!(
        "bty_test_{}",
        server::auth::password::random_hex(8).expect("random")
    );
    let admin = sea_orm::Database::connect(format!("{server}/postgres"))
        .await
        .expect("PostgreSQL server reachable");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    Some(format!("{server}/{name}"))
}

async fn start(
    state_dir: TempDir,
    database_url: Option<String>,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::for_state_dir(state_dir.path());
    settings.web_host = [127, 0, 0, 1].into();
    settings.web_port = 0;
    settings.admin_password = Some(PASSWORD.into());
    settings.image_root = None;
    settings.database_url = database_url;
    adjust(&mut settings);
    let application = Application::build(settings)
        .await
        .expect("application builds");
    let port = application.port();
    let state = application.state().clone();
    let image_root = state.settings.image_root();
    let server = tokio::spawn(async move {
        application
            .run_until(std::future::pending())
            .await
            .expect("server runs");
    });
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        image_root,
        state,
        client: Client::builder()
            .redirect(redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
        cookie: None,
        state_dir: Some(state_dir),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Logs in as `admin`; keeps the cookie for later requests.
    pub async fn login(&mut self) {
        let response = self.post_login("admin", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        self.cookie = Some(session_cookie(&response).expect("login sets the session cookie"));
    }

    pub async fn post_login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/ui/login"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("login request")
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(token) => request.header(header::COOKIE, format!("bty-token={token}")),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.with_cookie(self.client.get(self.url(path)))
            .send()
            .await
            .expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.with_cookie(self.client.post(self.url(path)).json(body))
            .send()
            .await
            .expect("POST")
    }

    /// Posts a catalog file to the page's upload form, with the cookie.
    pub async fn upload_catalog_file(&self, filename: &str, bytes: Vec<u8>) -> Response {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()),
        );
        self.with_cookie(self.client.post(self.url("/ui/catalog/upload")))
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }

    /// Creates an API token of `admin` named `name` through the API (with a
    /// session of its own when the app is not logged in); its secret.
    pub async fn create_api_token(&self, name: &str) -> String {
        let cookie = match &self.cookie {
            Some(cookie) => cookie.clone(),
            None => session_cookie(&self.post_login("admin", PASSWORD).await).expect("login"),
        };
        let response = self
            .client
            .post(self.url("/auth/tokens"))
            .header(header::COOKIE, format!("bty-token={cookie}"))
            .json(&serde_json::json!({"name": name}))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("JSON");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.with_cookie(self.client.delete(self.url(path)))
            .send()
            .await
            .expect("DELETE")
    }

    /// The audit events of one kind, newest first.
    pub async fn events_of_kind(&self, kind: &str) -> Vec<Value> {
        let body: Value = self
            .get(&format!("/events?kind={kind}"))
            .await
            .json()
            .await
            .expect("events JSON");
        body["events"].as_array().cloned().unwrap_or_default()
    }

    /// `POST /catalog/hashes`.
    pub async fn enqueue_hash(&self, name: &str) -> Response {
        self.post_json("/catalog/hashes", &serde_json::json!({ "name": name }))
            .await
    }

    /// `GET /catalog/hashes`, the state of `name`.
    pub async fn hash_state(&self, name: &str) -> Option<HashState> {
        let body: Value = self
            .get("/catalog/hashes")
            .await
            .json()
            .await
            .expect("hash list");
        body["hashes"]
            .as_array()
            .expect("hashes array")
            .iter()
            .map(|h| serde_json::from_value::<HashState>(h.clone()).expect("HashState"))
            .find(|h| h.name == name)
    }

    /// The unified catalog, as the live stream's first message shows it.
    pub async fn catalog(&self) -> Vec<CatalogRow> {
        let mut stream = self.live().await;
        let (event, data) = stream.next_event().await.expect("a first event");
        assert_eq!(event, "snapshot");
        let snapshot: LiveSnapshot = serde_json::from_str(&data).expect("snapshot JSON");
        snapshot.catalog.rows
    }

    /// The catalog row of the file `name`, if listed.
    pub async fn catalog_row(&self, name: &str) -> Option<CatalogRow> {
        self.catalog()
            .await
            .into_iter()
            .find(|row| row.names.iter().any(|n| n == name))
    }

    /// Opens the live stream.
    pub async fn live(&self) -> LiveStream {
        let response = self.get("/events/live").await;
        assert_eq!(response.status(), StatusCode::OK);
        LiveStream::from_response(response)
    }

    /// Writes a file into the image root.
    pub fn write_image(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.image_root.join(name);
        std::fs::write(&path, bytes).expect("write image");
        path
    }

    /// Waits until `check` returns `Some`, or panics after `seconds`.
    pub async fn eventually<T, F, Fut>(&self, seconds: u64, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the file `name` is listed with a content SHA.
    pub async fn wait_until_hashed(&self, name: &str) -> CatalogRow {
        self.eventually(60, &format!("{name} to be hashed"), || async {
            self.catalog_row(name)
                .await
                .filter(|row| row.sha256.is_some())
        })
        .await
    }

    /// Stops the server and its workers; returns what a restart needs: the
    /// state directory and the database.
    pub async fn stop(mut self) -> Stopped {
        self.state.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
        Stopped {
            state_dir: self.state_dir.take().expect("state dir"),
            database_url: self.state.settings.database_url.clone(),
        }
    }

    pub fn state_dir(&self) -> &Path {
        self.state_dir.as_ref().expect("state dir").path()
    }
}

/// A stopped application's state directory and database.
pub struct Stopped {
    pub state_dir: TempDir,
    pub database_url: Option<String>,
}

/// Starts the application again on what a stopped one left.
pub async fn restart(stopped: Stopped) -> TestApp {
    restart_with(stopped, |_| {}).await
}

/// Starts the application again on what a stopped one left, with settings
/// adjusted as the first start had them.
pub async fn restart_with(stopped: Stopped, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    start(stopped.state_dir, stopped.database_url, adjust).await
}

/// The `bty-token` value a response sets.
pub fn session_cookie(response: &Response) -> Option<String> {
    set_cookie(response)
        .and_then(|cookie| cookie.strip_prefix("bty-token=").map(str::to_owned))
        .and_then(|rest| rest.split(';').next().map(str::to_owned))
        .filter(|token| !token.is_empty())
}

/// The raw `Set-Cookie` header for `bty-token`.
pub fn set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("bty-token="))
        .map(str::to_owned)
}

/// `bytes` as one gzip member, as `gzip` writes it.
pub fn gzipped(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// `bytes` as one zstd frame, as `zstd` writes it.
pub fn zstd_compressed(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 0).expect("zstd in memory")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

/// A server-sent event stream, read event by event.
pub struct LiveStream {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl LiveStream {
    /// Reads the answer to `GET /events/live`.
    pub fn from_response(response: Response) -> Self {
        LiveStream {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next `(event, data)`; keep-alive comments are skipped.
    pub async fn next_event(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = String::from("message");
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event = name.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some((event, data.join("\n")));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(60), self.body.next())
                .await
                .ok()??
                .ok()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads events until `pick` accepts one.
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&str, &str) -> Option<T>,
    ) -> T {
        loop {
            let (event, data) = self
                .next_event()
                .await
                .unwrap_or_else(|| panic!("stream ended before {what}"));
            if let Some(found) = pick(&event, &data) {
                return found;
            }
        }
    }
}

/// Sends one request exactly as written (no client-side normalisation of
/// `%2E%2E` and the like) and returns the status and body.
pub async fn raw_request(app: &TestApp, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let cookie = app
        .cookie
        .as_ref()
        .map(|token| format!("Cookie: bty-token={token}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{cookie}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.expect("write head");
    socket.write_all(body).await.expect("write body");
    let mut response = Vec::new();
    socket.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A `GET /metrics` exposition: each sample by its series, written as it
/// appears (`name{label="value",...}`).
pub struct Scrape(pub std::collections::HashMap<String, f64>);

impl Scrape {
    pub fn parse(text: &str) -> Self {
        Scrape(
            text.lines()
                .filter(|line| !line.starts_with('#'))
                .filter_map(|line| {
                    let (series, value) = line.rsplit_once(' ')?;
                    Some((series.to_owned(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    /// The value of one series; 0 when absent (a counter not yet counted).
    pub fn value(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }
}

impl TestApp {
    /// `GET /metrics` as the logged-in operator.
    pub async fn scrape(&self) -> Scrape {
        let response = self.get("/metrics").await;
        assert_eq!(response.status(), StatusCode::OK, "GET /metrics");
        Scrape::parse(&response.text().await.expect("metrics text"))
    }
}
