//! nginx from Debian in front of replicas, started with the site
//! configuration the README gives (`deploy/nginx-bty-web.conf`), on a free
//! loopback port, round-robin over the replicas it is given.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::StatusCode;
use tempfile::TempDir;

use crate::replicas::Replica;

const CONFIG: &str = include_str!("../../../deploy/nginx-bty-web.conf");
const NGINX: &str = "/usr/sbin/nginx";

/// One nginx process; stopped when dropped.
pub struct Balancer {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    prefix: TempDir,
    child: Option<Child>,
}

impl Balancer {
    /// nginx balancing over `replicas`, once it answers `/healthz` there.
    pub async fn start(replicas: &[&Replica]) -> Self {
        assert!(
            std::path::Path::new(NGINX).exists(),
            "the cluster tests need nginx ({NGINX}): scripts/setup.sh installs it"
        );
        let prefix = tempfile::tempdir().expect("nginx prefix");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let upstreams: String = replicas
            .iter()
            .map(|r| {
                let host_port = r.address.trim_start_matches("http://");
                format!("        server {host_port} max_fails=1 fail_timeout=2s;\n")
            })
            .collect();
        let config = CONFIG
            .replace("@PREFIX@", &prefix.path().display().to_string())
            .replace("@UPSTREAMS@", upstreams.trim_end())
            .replace("@LISTEN@", &format!("127.0.0.1:{port}"));
        // As root, nginx's workers would switch to `nobody`, who cannot
        // write to the test's private directory.
        let config = if rustix::process::geteuid().is_root() {
            format!("user root;\n{config}")
        } else {
            config
        };
        let config_path = prefix.path().join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut balancer = Balancer {
            address: format!("http://127.0.0.1:{port}"),
            prefix,
            child: Some(child),
        };
        balancer.wait_until_listening().await;
        balancer
    }

    async fn wait_until_listening(&mut self) {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let healthy = client
                .get(format!("{}/healthz", self.address))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if healthy {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("nginx exited with {status}:\n{}", self.error_log());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx did not answer within 20 s:\n{}",
                self.error_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.prefix.path().join(name)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.log_path("error.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if std::thread::panicking() {
                eprintln!("---- nginx error log ----\n{}", self.error_log());
            }
            // SIGTERM: the master ends its workers, which SIGKILL would
            // leave behind, still listening.
            let pid = rustix::process::Pid::from_child(&child);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            let _ = child.wait();
        }
    }
}
