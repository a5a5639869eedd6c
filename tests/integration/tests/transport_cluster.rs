//! The transport against a real 3-node cluster: sniffing, a killed node, its return.
//!
//! Needs `cargo xtask es start --nodes 3` (with or without `--secure`: on a secure
//! cluster the seed's TLS settings and credentials carry over to the sniffed nodes);
//! run with `cargo test -p integration-tests --test transport_cluster -- --ignored`.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use elasticsearch_transport::{ServedBy, Transport, TransportBuilder};
use integration_tests::{cluster_lock, Revive};
use local_node::ClusterInfo;

const NEEDS: &str = "cargo xtask es start --nodes 3";

fn cluster() -> ClusterInfo {
    let info = local_node::cluster_info()
        .unwrap_or_else(|e| panic!("no running cluster ({e:#}); this test needs `{NEEDS}`"));
    assert!(
        info.nodes.len() == 3,
        "this test needs `{NEEDS}`, but the running cluster has {} node(s)",
        info.nodes.len(),
    );
    for k in 0..3 {
        assert!(
            local_node::node_alive(&info, k),
            "node-{k} is not running; restart the cluster with `{NEEDS}`"
        );
    }
    info
}

/// A builder seeded with node-0 only, with the CA and credentials of a secure cluster.
fn seeded(info: &ClusterInfo) -> TransportBuilder {
    let mut builder = Transport::builder().node(info.nodes[0].http_url.clone());
    if info.secure {
        let ca = info.ca_cert.clone().expect("cluster.json: ca_cert");
        builder = builder.ca_certificate_file(ca).basic_auth(
            info.username.clone().expect("cluster.json: username"),
            info.password.clone().expect("cluster.json: password"),
        );
    }
    builder
}

fn port_of(url: &str) -> u16 {
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

fn get(path: &str) -> http::Request<Bytes> {
    http::Request::get(path)
        .header("accept", "application/json")
        .body(Bytes::new())
        .expect("request")
}

fn served_port(resp: &http::Response<Bytes>) -> u16 {
    resp.extensions()
        .get::<ServedBy>()
        .map(|s| s.0.port())
        .expect("ServedBy extension")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs: cargo xtask es start --nodes 3"]
async fn sniffing_finds_all_three_nodes() {
    let _cluster = cluster_lock().await;
    let info = cluster();
    let expected: BTreeSet<u16> = info.nodes.iter().map(|n| port_of(&n.http_url)).collect();
    let transport = seeded(&info)
        .sniff_on_start(true)
        .build()
        .expect("transport");
    // The first request waits for the sniff on start.
    let resp = transport.send(get("/")).await.expect("GET /");
    assert_eq!(resp.status(), 200);
    let found: BTreeSet<u16> = transport.nodes().iter().map(|n| n.node.port()).collect();
    assert_eq!(found, expected, "sniffed nodes: {:?}", transport.nodes());
    let scheme = if info.secure { "https" } else { "http" };
    assert!(
        transport.nodes().iter().all(|n| n.node.scheme() == scheme),
        "sniffed nodes inherit the seed's scheme: {:?}",
        transport.nodes()
    );
    assert!(
        transport
            .nodes()
            .iter()
            .filter(|n| !n.seed)
            .all(|n| n.node.name.is_some()),
        "sniffed nodes carry their names"
    );
    // Round-robin reaches every node.
    let mut served = BTreeSet::new();
    for _ in 0..9 {
        let resp = transport.send(get("/")).await.expect("GET /");
        assert_eq!(resp.status(), 200);
        served.insert(served_port(&resp));
    }
    assert_eq!(served, expected);
    // An explicit sniff reports the same three.
    assert_eq!(transport.sniff().await.expect("sniff"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs: cargo xtask es start --nodes 3"]
async fn requests_survive_a_killed_node_and_use_it_again_after_restart() {
    let _cluster = cluster_lock().await;
    let info = cluster();
    let victim = 2;
    let victim_port = port_of(&info.nodes[victim].http_url);
    let transport = seeded(&info)
        .sniff_on_start(true)
        .dead_node_backoff(Duration::from_millis(500), Duration::from_secs(2))
        .request_timeout(Duration::from_secs(10))
        .build()
        .expect("transport");
    transport.send(get("/")).await.expect("GET /");
    assert_eq!(transport.nodes().len(), 3, "{:?}", transport.nodes());

    let _revive = Revive(victim);
    tokio::task::spawn_blocking(move || local_node::kill_node(victim))
        .await
        .expect("join")
        .expect("kill node");
    for i in 0..30 {
        let resp = transport
            .send(get("/_cluster/health"))
            .await
            .unwrap_or_else(|e| panic!("request {i} failed with a node down: {e}"));
        assert_eq!(resp.status(), 200);
        assert_ne!(served_port(&resp), victim_port);
    }
    let victim_status = transport
        .nodes()
        .into_iter()
        .find(|n| n.node.port() == victim_port)
        .expect("the victim is still a member");
    assert!(
        victim_status.failures > 0,
        "the killed node was never marked dead"
    );

    tokio::task::spawn_blocking(move || local_node::restart_node(victim))
        .await
        .expect("join")
        .expect("restart node");
    // Once its dead time expires the node is tried again and serves requests.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let resp = transport.send(get("/")).await.expect("GET / after restart");
        if served_port(&resp) == victim_port {
            assert_eq!(resp.status(), 200);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted node never served a request: {:?}",
            transport.nodes()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let st = transport
        .nodes()
        .into_iter()
        .find(|n| n.node.port() == victim_port)
        .expect("victim");
    assert_eq!((st.failures, st.dead), (0, false));
}
