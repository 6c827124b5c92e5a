//! This replica among several on one PostgreSQL database: its name, and
//! how long its claims on jobs last. On SQLite the process is alone: the
//! node is the only one there is. What replicas share beyond job leases is
//! in [`crate::cluster`].

use std::{sync::Arc, time::Duration};

use crate::settings::Settings;

/// This replica: its name, how long its claims on jobs last, and whether
/// other replicas may share its database.
#[derive(Clone, Debug)]
pub struct Node {
    id: Arc<str>,
    /// A claim on a running job lasts this long past its last heartbeat.
    pub lease: Duration,
    /// The database may be shared with other replicas (PostgreSQL): claims
    /// expire, changes are fanned out, the image root has one leader.
    pub shared: bool,
}

impl Node {
    /// The node `settings` name (`BTY_NODE_ID`, else this host's name and
    /// `port`, the one actually bound) on a database that is `shared` or not.
    pub fn new(settings: &Settings, port: u16, shared: bool) -> Self {
        let id = settings
            .node_id
            .clone()
            .unwrap_or_else(|| default_id(&host_name(), port));
        Node {
            id: id.into(),
            lease: Duration::from_secs(settings.job_lease_seconds.into()),
            shared,
        }
    }

    /// The name jobs are claimed under and `/healthz` shows.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// `host:port`, the name of a replica that was given none.
fn default_id(host: &str, port: u16) -> String {
    format!("{host}:{port}")
}

/// The kernel's name for this machine (`uname -n`); `localhost` if empty.
fn host_name() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy().into_owned();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_without_a_name_is_its_host_and_port() {
        let settings = Settings::for_state_dir("/tmp/x");
        let node = Node::new(&settings, 8081, false);
        assert_eq!(node.id(), format!("{}:8081", host_name()));
        assert!(!host_name().is_empty());
        assert_eq!(node.lease, Duration::from_secs(15));
        let mut named = settings.clone();
        named.node_id = Some("web-2".into());
        assert_eq!(Node::new(&named, 8081, true).id(), "web-2");
    }
}
