//! A real HTTP upstream on 127.0.0.1 for tests: serves whatever a test puts
//! at a path (GET and HEAD), with the status it chooses.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Router,
};

type Files = Arc<Mutex<HashMap<String, (StatusCode, Vec<u8>)>>>;

pub struct Upstream {
    pub base: String,
    files: Files,
}

impl Upstream {
    pub async fn start() -> Self {
        let files: Files = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let app = Router::new().fallback(serve).with_state(files.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("upstream serves");
        });
        Upstream { base, files }
    }

    /// Serves `bytes` at `path` with 200.
    pub fn put(&self, path: &str, bytes: impl Into<Vec<u8>>) {
        self.put_status(path, StatusCode::OK, bytes);
    }

    pub fn put_status(&self, path: &str, status: StatusCode, bytes: impl Into<Vec<u8>>) {
        if let Ok(mut files) = self.files.lock() {
            files.insert(path.to_owned(), (status, bytes.into()));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn serve(State(files): State<Files>, request: Request) -> Response {
    let found = files
        .lock()
        .ok()
        .and_then(|f| f.get(request.uri().path()).cloned());
    match found {
        Some((status, bytes)) => (status, bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
