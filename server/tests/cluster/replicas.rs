//! Replicas for a test: a fresh PostgreSQL database and one state
//! directory they share, and `bty-web` processes started on them, each on
//! a free loopback port, each with its own `BTY_NODE_ID`.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::{header, redirect, Client, Response, StatusCode};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use tempfile::TempDir;

use crate::helpers::{session_cookie, LiveStream, PASSWORD};

/// How long a replica's claim on a job lasts in these tests, in seconds.
pub const LEASE_SECONDS: u64 = 3;

/// The database and state directory replicas share.
pub struct Cluster {
    pub database_url: String,
    pub state_dir: TempDir,
    /// The test's own connection to the database, to read rows.
    pub db: DatabaseConnection,
}

impl Cluster {
    /// A fresh database on the PostgreSQL server `BTY_TEST_POSTGRES_URL`
    /// names, and an empty state directory.
    pub async fn new() -> Self {
        let server = std::env::var("BTY_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| {
                panic!(
                    "the cluster tests need a PostgreSQL server: set BTY_TEST_POSTGRES_URL, e.g. \
                     BTY_TEST_POSTGRES_URL=$(scripts/postgres.sh start /tmp/pg) cargo test --test cluster"
                )
            });
        let server = server.trim_end_matches('/');
        let name = format!(
            "bty_cluster_{}",
            server::auth::password::random_hex(8).expect("random")
        );
        let admin = sea_orm::Database::connect(format!("{server}/postgres"))
            .await
            .expect("PostgreSQL server reachable");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        let database_url = format!("{server}/{name}");
        let db = sea_orm::Database::connect(&database_url)
            .await
            .expect("the test database");
        Cluster {
            database_url,
            state_dir: tempfile::tempdir().expect("state dir"),
            db,
        }
    }

    pub fn image_root(&self) -> PathBuf {
        self.state_dir.path().join("images")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.state_dir.path().join("cache")
    }

    /// `replica-a` and `replica-b`, sharing one session (made on `a`).
    pub async fn logged_in_pair(&self) -> (Replica, Replica) {
        let mut a = self.start("replica-a").await;
        let mut b = self.start("replica-b").await;
        b.cookie = Some(a.login().await);
        (a, b)
    }

    /// Starts the replica `node` and waits until it answers `/healthz`.
    pub async fn start(&self, node: &str) -> Replica {
        self.start_with(node, &[]).await
    }

    /// [`Cluster::start`] with more settings, as `(variable, value)`.
    pub async fn start_with(&self, node: &str, settings: &[(&str, &str)]) -> Replica {
        let log_path = self.state_dir.path().join(format!("{node}.log"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_bty-web"));
        // Only what the test sets: nothing from the caller's BTY_* environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("BTY_") {
                command.env_remove(key);
            }
        }
        let child = command
            .env("BTY_WEB_HOST", "127.0.0.1")
            .env("BTY_WEB_PORT", "0")
            .env("BTY_STATE_DIR", self.state_dir.path())
            .env("BTY_DATABASE_URL", &self.database_url)
            .env("BTY_ADMIN_PASSWORD", PASSWORD)
            .env("BTY_NODE_ID", node)
            .env("BTY_JOB_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(settings.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start bty-web");
        let mut replica = Replica {
            node: node.to_owned(),
            address: String::new(),
            client: Client::builder()
                .redirect(redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            cookie: None,
            child: Some(child),
            log_path,
        };
        replica.address = replica.wait_until_listening().await;
        replica
    }
}

/// One `bty-web` process.
pub struct Replica {
    pub node: String,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    pub client: Client,
    /// The `bty-token` cookie this replica's requests carry.
    pub cookie: Option<String>,
    child: Option<Child>,
    log_path: PathBuf,
}

impl Replica {
    /// The address from the log's `listening on` line, once `/healthz`
    /// answers there.
    async fn wait_until_listening(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(address) = listening_address(&self.log_path) {
                let healthy = self
                    .client
                    .get(format!("{address}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == StatusCode::OK);
                if healthy {
                    return address;
                }
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("{} exited with {status}:\n{}", self.node, self.log());
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not start within 60 s:\n{}",
                self.node,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// `kill -9`: no shutdown, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Logs in as `admin` here; returns the session cookie.
    pub async fn login(&mut self) -> String {
        let response = self.post_login(PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login");
        let cookie = session_cookie(&response).expect("a session cookie");
        self.cookie = Some(cookie.clone());
        cookie
    }

    pub async fn post_login(&self, password: &str) -> Response {
        self.client
            .post(self.url("/ui/login"))
            .form(&[("username", "admin"), ("password", password)])
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

    pub async fn post(&self, path: &str) -> Response {
        self.with_cookie(self.client.post(self.url(path)))
            .send()
            .await
            .expect("POST")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.with_cookie(self.client.delete(self.url(path)))
            .send()
            .await
            .expect("DELETE")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.with_cookie(self.client.post(self.url(path)).json(body))
            .send()
            .await
            .expect("POST")
    }

    pub async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("JSON")
    }

    /// The audit events of one kind, newest first.
    pub async fn events_of_kind(&self, kind: &str) -> Vec<Value> {
        self.json(&format!("/events?kind={kind}&limit=500")).await["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Adds `url` by URL (unpinned) here; returns the entry's name.
    pub async fn add_url(&self, url: &str) -> String {
        let response = self
            .post_json("/catalog/entries", &serde_json::json!({"image_url": url}))
            .await;
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["name"].as_str().expect("name").to_owned()
    }

    /// Opens the live stream and reads its snapshot.
    pub async fn live(&self) -> LiveStream {
        let response = self.get("/events/live").await;
        assert_eq!(response.status(), StatusCode::OK, "GET /events/live");
        let mut stream = LiveStream::from_response(response);
        let (event, _) = stream.next_event().await.expect("a first event");
        assert_eq!(event, "snapshot");
        stream
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if std::thread::panicking() && self.child.is_some() {
            eprintln!("---- log of {} ----\n{}", self.node, self.log());
        }
        self.kill();
    }
}

/// `http://HOST:PORT` from the log line `bty-web listening on HOST:PORT`.
fn listening_address(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let rest = text.split("listening on ").nth(1)?;
    let address = rest.split_whitespace().next()?;
    Some(format!("http://{address}"))
}

/// Waits until `check` returns `Some`, or panics after `seconds`.
pub async fn eventually<T, F, Fut>(seconds: u64, what: &str, mut check: F) -> T
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
