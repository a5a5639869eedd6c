//! Sniffing against loopback nodes: address forms, garbage, membership, triggers.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use elasticsearch_transport::Transport;

fn nodes_reply(entries: &[(&str, &str, &[&str])]) -> String {
    let nodes: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, (name, addr, roles))| {
            let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
            format!(
                r#""id{i}":{{"name":"{name}","roles":[{}],"http":{{"publish_address":"{addr}"}}}}"#,
                roles.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"_nodes":{{"total":{}}},"cluster_name":"c","nodes":{{{}}}}}"#,
        entries.len(),
        nodes.join(",")
    )
}

/// A seed that answers sniffs with whatever `reply` holds.
async fn seed(reply: Arc<Mutex<String>>) -> MockNode {
    MockNode::start(move |r| {
        if r.target.contains("_nodes") {
            Reply::es(200, &reply.lock().unwrap())
        } else {
            Reply::ok()
        }
    })
    .await
}

fn urls(t: &Transport) -> Vec<String> {
    let mut u: Vec<String> = t.nodes().iter().map(|n| n.node.url().to_string()).collect();
    u.sort();
    u
}

#[tokio::test]
async fn sniff_on_start_handles_address_forms_and_inherits_prefix() {
    let b = MockNode::start(|_| Reply::ok()).await;
    let reply = Arc::new(Mutex::new(String::new()));
    let a = seed(reply.clone()).await;
    *reply.lock().unwrap() = nodes_reply(&[
        (
            "b",
            &format!("localhost/127.0.0.1:{}", b.addr.port()),
            &["data", "ingest"],
        ),
        ("v6", "[2001:db8::1]:9200", &["data"]),
        ("master", "192.0.2.12:9200", &["master"]),
        ("junk", "no port here", &["data"]),
    ]);
    let t = Transport::builder()
        .node(format!("{}/es/", a.url()))
        .sniff_on_start(true)
        .build()
        .unwrap();
    // The first request waits for the sniff.
    t.send(get("/")).await.unwrap();
    assert_eq!(
        a.all()[0].target,
        "/es/_nodes/_all/http",
        "the sniff comes first"
    );
    assert_eq!(
        urls(&t),
        vec![
            format!("http://127.0.0.1:{}/es", a.addr.port()),
            "http://[2001:db8::1]:9200/es".to_string(),
            format!("http://localhost:{}/es", b.addr.port()),
        ]
    );
    // The `hostname/ip:port` node really connects (by host name) and keeps the prefix.
    let b_node = t
        .nodes()
        .into_iter()
        .find(|n| n.node.host() == "localhost")
        .unwrap();
    assert_eq!(b_node.node.name.as_deref(), Some("b"));
    assert!(!b_node.seed);
    let mut served_b = false;
    for _ in 0..6 {
        let resp = t.send(get("/idx/_search")).await.unwrap();
        if served_by(&resp) == format!("http://localhost:{}", b.addr.port()) {
            served_b = true;
        }
    }
    assert!(served_b, "the sniffed node never served a request");
    assert_eq!(b.last().target, "/es/idx/_search");
}

#[tokio::test]
async fn membership_is_replaced_and_garbage_is_survived() {
    let b = MockNode::start(|_| Reply::ok()).await;
    let c = MockNode::start(|_| Reply::ok()).await;
    let reply = Arc::new(Mutex::new(nodes_reply(&[(
        "b",
        &format!("127.0.0.1:{}", b.addr.port()),
        &[],
    )])));
    let a = seed(reply.clone()).await;
    let t = Transport::builder().node(a.url()).build().unwrap();
    assert_eq!(t.sniff().await.unwrap(), 1);
    let mut first = vec![a.url(), b.url()];
    first.sort();
    assert_eq!(urls(&t), first);

    // Replaced, not added to: B is gone, C is in, the seed stays.
    *reply.lock().unwrap() = nodes_reply(&[("c", &format!("127.0.0.1:{}", c.addr.port()), &[])]);
    t.sniff().await.unwrap();
    let mut expected = vec![a.url(), c.url()];
    expected.sort();
    assert_eq!(urls(&t), expected);

    // Garbage: the sniff fails, membership is unchanged, requests still work.
    for garbage in [
        "<html>oops</html>",
        r#"{"nodes":{"x":{"http":{"publish_address":"???"}}}}"#,
        "{}",
    ] {
        *reply.lock().unwrap() = garbage.to_string();
        assert!(t.sniff().await.is_err(), "{garbage}");
        assert_eq!(urls(&t), expected);
        for _ in 0..3 {
            assert_eq!(t.send(get("/")).await.unwrap().status(), 200);
        }
    }
}

#[tokio::test]
async fn failed_sniff_never_stops_interval_sniffing() {
    let b = MockNode::start(|_| Reply::ok()).await;
    let good = nodes_reply(&[("b", &format!("127.0.0.1:{}", b.addr.port()), &[])]);
    let sniffs = Arc::new(AtomicUsize::new(0));
    let s = sniffs.clone();
    let a = MockNode::start(move |r| {
        if r.target.contains("_nodes") {
            match s.fetch_add(1, Ordering::SeqCst) {
                0 => Reply::es(500, "{}"),
                1 => Reply::Reset,
                2 => Reply::es(200, "garbage"),
                _ => Reply::es(200, &good),
            }
        } else {
            Reply::ok()
        }
    })
    .await;
    let t = Transport::builder()
        .node(a.url())
        .max_retries(0)
        .sniff_on_start(true)
        .sniff_interval(Duration::from_millis(50))
        .dead_node_backoff(Duration::from_millis(1), Duration::from_millis(1))
        .build()
        .unwrap();
    assert_eq!(
        t.send(get("/")).await.unwrap().status(),
        200,
        "a failed sniff on start does not break the client"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !urls(&t).contains(&b.url()) {
        assert!(
            std::time::Instant::now() < deadline,
            "sniffing stopped after failures"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(sniffs.load(Ordering::SeqCst) >= 4);
}

#[tokio::test]
async fn node_failure_triggers_a_sniff() {
    let b = MockNode::start(|_| Reply::ok()).await;
    let reply = Arc::new(Mutex::new(nodes_reply(&[(
        "b",
        &format!("127.0.0.1:{}", b.addr.port()),
        &[],
    )])));
    let a = seed(reply).await;
    let dead = format!("http://127.0.0.1:{}", closed_port().await);
    let t = Transport::builder()
        .nodes([dead.clone(), a.url()])
        .sniff_on_failure(true)
        .sniff_min_delay_on_failure(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(t.send(get("/")).await.unwrap().status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !urls(&t).contains(&b.url()) {
        assert!(
            std::time::Instant::now() < deadline,
            "no sniff after the failure"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sniffs = a
        .all()
        .iter()
        .filter(|r| r.target.contains("_nodes"))
        .count();
    assert!(sniffs >= 1);
    // Seeds are kept even when the sniff does not list them.
    assert!(urls(&t).contains(&dead));
}

#[tokio::test]
async fn custom_node_filter_and_selector() {
    #[derive(Debug)]
    struct PreferHot;
    impl elasticsearch_transport::Selector for PreferHot {
        fn select(&self, nodes: &[Arc<elasticsearch_transport::Node>]) -> usize {
            nodes
                .iter()
                .position(|n| n.attributes.get("tier").map(String::as_str) == Some("hot"))
                .unwrap_or(0)
        }
    }
    let hot = MockNode::start(|_| Reply::ok()).await;
    let cold = MockNode::start(|_| Reply::ok()).await;
    let body = format!(
        r#"{{"nodes":{{
        "h":{{"roles":["data_hot"],"attributes":{{"tier":"hot"}},"http":{{"publish_address":"127.0.0.1:{}"}}}},
        "c":{{"roles":["data_cold"],"attributes":{{"tier":"cold"}},"http":{{"publish_address":"127.0.0.1:{}"}}}},
        "m":{{"roles":["master","voting_only"],"http":{{"publish_address":"127.0.0.1:1"}}}}}}}}"#,
        hot.addr.port(),
        cold.addr.port()
    );
    let a = seed(Arc::new(Mutex::new(body))).await;
    let t = Transport::builder()
        .node(a.url())
        .selector(PreferHot)
        .sniff_node_filter(|n: &elasticsearch_transport::Node| !n.has_role("data_frozen"))
        .build()
        .unwrap();
    t.sniff().await.unwrap();
    // The custom filter replaced the default one, so the master-only node is in.
    assert_eq!(t.nodes().len(), 4);
    for _ in 0..3 {
        assert_eq!(served_by(&t.send(get("/")).await.unwrap()), hot.origin());
    }
    assert_eq!(cold.count(), 0);
}
