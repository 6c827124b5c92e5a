//! A real OCI registry for `oras://` tests: Debian's `docker-registry` (the
//! CNCF distribution registry 2.8) on 127.0.0.1 with storage in a temp dir,
//! and pushes over the OCI distribution API the way `oras push` does them.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// Where Debian's `docker-registry` package puts the registry.
const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The layer media type `oras push` gives a file by default.
pub const ORAS_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const CONFIG: &str = "application/vnd.oci.empty.v1+json";

/// A running registry; killed on drop.
pub struct Registry {
    /// `127.0.0.1:<port>`, as an `oras://` reference names it.
    pub host: String,
    http: Client,
    child: Child,
    /// Its log, access log included.
    log: std::path::PathBuf,
    _root: TempDir,
}

/// A pushed blob.
#[derive(Clone, Debug)]
pub struct Blob {
    /// `sha256:<hex>`.
    pub digest: String,
    pub size: u64,
}

impl Blob {
    pub fn of(content: &[u8]) -> Blob {
        Blob {
            digest: format!("sha256:{:x}", Sha256::digest(content)),
            size: content.len() as u64,
        }
    }

    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }

    /// Its descriptor in a manifest, with a title annotation when given.
    pub fn layer(&self, media_type: &str, title: Option<&str>) -> Value {
        let mut descriptor =
            json!({"mediaType": media_type, "digest": self.digest, "size": self.size});
        if let Some(title) = title {
            descriptor["annotations"] = json!({"org.opencontainers.image.title": title});
        }
        descriptor
    }
}

/// Starts a registry, failing the test (not skipping it) when Debian's
/// `docker-registry` is not installed.
pub async fn start_registry() -> Registry {
    assert!(
        Path::new(REGISTRY_BINARY).exists(),
        "{REGISTRY_BINARY} is missing: the oras tests need Debian's docker-registry package \
         (scripts/setup.sh installs it: apt-get install --no-install-recommends docker-registry)"
    );
    let mut last_log = String::new();
    // A free port can be taken between probing and binding: try again.
    for _ in 0..3 {
        let root = tempfile::tempdir().expect("registry temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = root.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\n\
                 log:\n  level: warn\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  \
                 maintenance:\n    uploadpurging:\n      enabled: false\n\
                 http:\n  addr: 127.0.0.1:{port}\n",
                root.path().join("data").display()
            ),
        )
        .expect("write registry config");
        let log_path = root.path().join("registry.log");
        let log = std::fs::File::create(&log_path).expect("registry log");
        let child = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn docker-registry");
        let mut registry = Registry {
            host: format!("127.0.0.1:{port}"),
            http: Client::new(),
            child,
            log: log_path.clone(),
            _root: root,
        };
        if registry.wait_until_ready().await {
            return registry;
        }
        last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
    }
    panic!("docker-registry did not start; its log:\n{last_log}");
}

impl Registry {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    /// `oras://127.0.0.1:<port>/<rest>`.
    pub fn oras(&self, rest: &str) -> String {
        format!("oras://{}/{rest}", self.host)
    }

    /// How many `method` requests for `path` (e.g. `/v2/<repo>/blobs/<digest>`)
    /// the registry answered, from its access log.
    pub fn requests(&self, method: &str, path: &str) -> usize {
        let needle = format!("\"{method} {path} ");
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains(&needle))
            .count()
    }

    async fn wait_until_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            let answer = self.http.get(format!("{}/v2/", self.url())).send().await;
            if answer.is_ok_and(|r| r.status() == StatusCode::OK) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Uploads a blob (POST an upload, then PUT it whole with its digest).
    pub async fn push_blob(&self, repository: &str, content: &[u8]) -> Blob {
        let blob = Blob::of(content);
        let started = self
            .http
            .post(format!("{}/v2/{repository}/blobs/uploads/", self.url()))
            .send()
            .await
            .expect("start upload");
        assert_eq!(started.status(), StatusCode::ACCEPTED, "start upload");
        let location = started
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .expect("upload location")
            .to_owned();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.url())
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let finished = self
            .http
            .put(format!("{location}{separator}digest={}", blob.digest))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(content.to_vec())
            .send()
            .await
            .expect("finish upload");
        assert_eq!(finished.status(), StatusCode::CREATED, "finish upload");
        blob
    }

    /// Puts a manifest or index under `reference` (a tag or its digest);
    /// returns its digest.
    pub async fn push_manifest(&self, repository: &str, reference: &str, manifest: &Value) -> Blob {
        let body = serde_json::to_vec(manifest).expect("manifest json");
        let media_type = manifest["mediaType"]
            .as_str()
            .expect("mediaType")
            .to_owned();
        let response = self
            .http
            .put(format!(
                "{}/v2/{repository}/manifests/{reference}",
                self.url()
            ))
            .header(header::CONTENT_TYPE, media_type)
            .body(body.clone())
            .send()
            .await
            .expect("put manifest");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::CREATED, "put manifest: {text}");
        Blob::of(&body)
    }

    /// An ORAS-style artifact manifest (empty config) with these layers.
    pub async fn push_artifact(
        &self,
        repository: &str,
        reference: &str,
        layers: Vec<Value>,
    ) -> Blob {
        let config = self.push_blob(repository, b"{}").await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.bty.disk-image",
            "config": config.layer(CONFIG, None),
            "layers": layers,
        });
        self.push_manifest(repository, reference, &manifest).await
    }

    /// `debian.img.gz` with its `.sha256` beside it (the checksum is the
    /// larger layer, so size alone would pick the wrong one), under `tag`.
    pub async fn push_disk_image(&self, repository: &str, tag: &str) -> DiskImage {
        let image = b"\x1f\x8b disk image bytes".repeat(8);
        let checksum = format!("{}  debian.img.gz\n", Blob::of(&image).hex()).repeat(4);
        let disk = self.push_blob(repository, &image).await;
        let sha = self.push_blob(repository, checksum.as_bytes()).await;
        let manifest = self
            .push_artifact(
                repository,
                tag,
                vec![
                    sha.layer("text/plain", Some("debian.img.gz.sha256")),
                    disk.layer(ORAS_LAYER, Some("debian.img.gz")),
                ],
            )
            .await;
        DiskImage { disk, manifest }
    }

    /// An image index under `tag` with a linux/amd64 and a linux/arm64
    /// manifest, each holding its own disk layer.
    pub async fn push_two_platform_index(&self, repository: &str, tag: &str) -> TwoPlatforms {
        let mut entries = Vec::new();
        let mut disks = Vec::new();
        for architecture in ["amd64", "arm64"] {
            let disk = self
                .push_blob(repository, format!("{architecture} disk").as_bytes())
                .await;
            let title = format!("debian-{architecture}.img.gz");
            let layers = vec![disk.layer(ORAS_LAYER, Some(&title))];
            let manifest = self
                .push_artifact(repository, &format!("{tag}-{architecture}"), layers)
                .await;
            let mut entry = manifest.layer(OCI_MANIFEST, None);
            entry["platform"] = json!({"os": "linux", "architecture": architecture});
            entries.push(entry);
            disks.push(disk);
        }
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
        self.push_manifest(repository, tag, &index).await;
        let arm64 = disks.pop().expect("arm64");
        let amd64 = disks.pop().expect("amd64");
        TwoPlatforms { amd64, arm64 }
    }
}

/// What [`Registry::push_disk_image`] pushed.
pub struct DiskImage {
    pub disk: Blob,
    pub manifest: Blob,
}

/// The disk layers of [`Registry::push_two_platform_index`].
pub struct TwoPlatforms {
    pub amd64: Blob,
    pub arm64: Blob,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
