//! Support for the integration tests: finding (and, in tests that need it, controlling)
//! the local Elasticsearch node(s) started by `cargo xtask es start`.

use anyhow::{bail, Context, Result};

/// The client for the tests: `ELASTICSEARCH_URL` when set, else the first node of the
/// cluster recorded by `cargo xtask es start`.
pub fn client() -> Result<elasticsearch_client::Client> {
    let url = node_url()?;
    elasticsearch_client::Client::new(&url).with_context(|| format!("client for {url}"))
}

/// The node URL the tests use: `ELASTICSEARCH_URL`, else node 0 of `target/es/cluster.json`.
pub fn node_url() -> Result<String> {
    if let Ok(url) = std::env::var("ELASTICSEARCH_URL") {
        return Ok(url);
    }
    let info = local_node::cluster_info()?;
    match info.nodes.first() {
        Some(node) => Ok(node.http_url.clone()),
        None => bail!("the recorded cluster has no nodes"),
    }
}

pub use local_node::npm::FLIGHTS_200K;

/// Restarts node `k` of the local cluster when dropped if it is not running, so a test
/// that kills a node leaves the cluster whole even when it fails half-way.
#[derive(Debug)]
pub struct Revive(pub usize);

impl Drop for Revive {
    fn drop(&mut self) {
        if let Ok(info) = local_node::cluster_info() {
            if !local_node::node_alive(&info, self.0) {
                if let Err(e) = local_node::restart_node(self.0) {
                    eprintln!("could not restart node-{}: {e:#}", self.0);
                }
            }
        }
    }
}

/// Held by each test that changes the local cluster's membership (kills or restarts a
/// node), so tests of one binary that run in parallel never see each other's faults.
pub async fn cluster_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}
