//! The whole life of a two-node cluster: start, `GET /`, kill and restart a node, stop.
//!
//! Ignored by default: there is one local cluster per workspace, and this test replaces
//! (and finally stops) whatever cluster is running. Run it alone with
//! `cargo test -p local-node -- --ignored`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result};
use local_node::StartOptions;

/// A plain HTTP/1.0 GET; returns the whole response (head and body).
fn get(url: &str, path: &str) -> Result<String> {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
#[ignore = "replaces and stops the workspace's local cluster; run alone with --ignored"]
fn two_nodes_start_kill_restart_stop() -> Result<()> {
    let opts = StartOptions {
        nodes: 2,
        http_port: 9250,
        ..StartOptions::default()
    };
    let info = local_node::start(&opts)?;
    assert_eq!(info.nodes.len(), 2);
    assert_eq!(info.nodes[1].http_url, "http://127.0.0.1:9251");
    assert_eq!(local_node::cluster_info()?, info);
    // Starting again with the same options keeps the running cluster.
    assert_eq!(local_node::start(&opts)?, info);

    let root = get(&info.nodes[1].http_url, "/")?;
    assert!(root.starts_with("HTTP/1.0 200 OK\r\n"), "{root}");
    assert!(
        root.to_ascii_lowercase()
            .contains("x-elastic-product: elasticsearch"),
        "{root}"
    );
    assert!(root.contains(r#""number" : "9.5.3""#), "{root}");
    assert!(root.contains(r#""name" : "node-1""#), "{root}");

    local_node::kill_node(1)?;
    assert!(!local_node::node_alive(&info, 1));
    local_node::restart_node(1)?;
    let after = local_node::cluster_info()?;
    assert_ne!(after.nodes[1].pid, info.nodes[1].pid);
    assert!(local_node::node_alive(&after, 1));
    let nodes = get(&after.nodes[0].http_url, "/_cat/nodes?h=name")?;
    assert!(
        nodes.contains("node-0") && nodes.contains("node-1"),
        "{nodes}"
    );

    local_node::stop()?;
    assert!(local_node::cluster_info().is_err());
    assert!(local_node::status()?.is_none());
    assert!(!local_node::node_alive(&after, 0) && !local_node::node_alive(&after, 1));
    // Stopping twice is fine.
    local_node::stop()?;
    Ok(())
}
