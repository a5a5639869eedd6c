//! Failover, dead-node backoff and the retry policy against loopback nodes.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use elasticsearch_transport::{Error, RequestOptions, Transport};

fn transport(urls: &[String]) -> elasticsearch_transport::TransportBuilder {
    Transport::builder().nodes(urls.iter().cloned())
}

#[tokio::test(start_paused = true)]
async fn refused_node_fails_over_and_is_retried_after_backoff() {
    let b = MockNode::start(|_| Reply::ok()).await;
    let dead_url = format!("http://127.0.0.1:{}", closed_port().await);
    let t = transport(&[dead_url.clone(), b.url()])
        .request_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();

    // Round-robin starts at A: refused, then served by B.
    let resp = t.send(get("/")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(served_by(&resp), b.origin());
    let a = t
        .nodes()
        .into_iter()
        .find(|n| n.node.url() == dead_url)
        .unwrap();
    assert!(a.dead, "A must be marked dead");
    assert_eq!(a.failures, 1);
    assert_eq!(a.dead_for, Some(Duration::from_secs(1)));

    // While A is dead every request goes to B without touching A.
    for _ in 0..4 {
        assert_eq!(served_by(&t.send(get("/")).await.unwrap()), b.origin());
    }
    assert_eq!(b.count(), 5);

    // After the backoff A is tried again (and fails again, now dead for 2 s).
    tokio::time::advance(Duration::from_millis(1100)).await;
    let mut tried_a = false;
    for _ in 0..2 {
        t.send(get("/")).await.unwrap();
        let a = t
            .nodes()
            .into_iter()
            .find(|n| n.node.url() == dead_url)
            .unwrap();
        if a.failures == 2 {
            tried_a = true;
            assert_eq!(a.dead_for, Some(Duration::from_secs(2)));
            break;
        }
    }
    assert!(tried_a, "A was not tried after its dead time expired");
}

#[tokio::test(start_paused = true)]
async fn all_dead_tries_soonest_back_and_lists_each_cause() {
    let p1 = closed_port().await;
    let p2 = closed_port().await;
    let u1 = format!("http://127.0.0.1:{p1}");
    let u2 = format!("http://127.0.0.1:{p2}");
    let t = transport(&[u1.clone(), u2.clone()])
        .max_retries(3)
        .request_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let err = t.send(get("/")).await.unwrap_err();
    // 4 attempts, alternating, each listed with its node and cause.
    assert_eq!(err.attempts().len(), 4, "{err}");
    assert!(err.is_connect());
    let text = err.to_string();
    assert!(text.contains(&u1) && text.contains(&u2), "{text}");
    assert!(
        text.contains("connection to") && text.contains("refused")
            || text.contains("Connection refused"),
        "{text}"
    );
    for a in err.attempts() {
        assert!(matches!(a.error, Error::Connect { .. }), "{:?}", a.error);
    }
    // Both dead: the one that comes back soonest is still tried (never refuse to send).
    let nodes = t.nodes();
    assert!(nodes.iter().all(|n| n.dead));
    let soonest = nodes
        .iter()
        .min_by_key(|n| n.dead_for)
        .unwrap()
        .node
        .origin()
        .to_string();
    let b = MockNode::start_on(
        &format!("127.0.0.1:{}", soonest.rsplit(':').next().unwrap()),
        |_| Reply::ok(),
    )
    .await;
    let resp = t.send(get("/")).await.unwrap();
    assert_eq!(served_by(&resp), soonest);
    assert_eq!(b.count(), 1);
    let n = t
        .nodes()
        .into_iter()
        .find(|n| n.node.origin() == soonest)
        .unwrap();
    assert_eq!(
        (n.failures, n.dead),
        (0, false),
        "a healthy response resets the failure count"
    );
}

#[tokio::test]
async fn status_503_then_200_on_another_node() {
    let a = MockNode::start(|_| Reply::es(503, "{}")).await;
    let b = MockNode::start(|_| Reply::ok()).await;
    let t = transport(&[a.url(), b.url()]).build().unwrap();
    let resp = t.send(get("/x")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!((a.count(), b.count()), (1, 1));
    let a_status = t
        .nodes()
        .into_iter()
        .find(|n| n.node.origin() == a.origin())
        .unwrap();
    assert!(a_status.dead, "503 marks the node dead");
}

#[tokio::test]
async fn status_400_and_500_are_not_retried() {
    let a = MockNode::start(|_| Reply::es(400, r#"{"error":"bad"}"#)).await;
    let b = MockNode::start(|_| Reply::es(400, r#"{"error":"bad"}"#)).await;
    let t = transport(&[a.url(), b.url()]).build().unwrap();
    let resp = t.send(get("/x")).await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(a.count() + b.count(), 1);
    a.set_handler(|_| Reply::es(500, "{}"));
    b.set_handler(|_| Reply::es(500, "{}"));
    let resp = t.send(get("/x")).await.unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(a.count() + b.count(), 2);
    assert!(t.nodes().iter().all(|n| !n.dead && n.failures == 0));
}

#[tokio::test]
async fn persistent_503_returns_the_last_response_after_max_retries() {
    let a = MockNode::start(|_| Reply::es(503, "{}")).await;
    let t = transport(&[a.url()]).max_retries(2).build().unwrap();
    let resp = t.send(get("/x")).await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(a.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn status_429_backs_off_and_does_not_kill_the_node() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let a = MockNode::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::es(429, "{}")
        } else {
            Reply::ok()
        }
    })
    .await;
    let t = transport(&[a.url()])
        .retry_backoff(Duration::from_secs(1), Duration::from_secs(10))
        .request_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let resp = t.send(get("/x")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(a.count(), 3);
    // Backoffs: [0.5, 1] s then [1, 2] s.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited <= Duration::from_secs(3),
        "{waited:?}"
    );
    let st = &t.nodes()[0];
    assert!(
        !st.dead && st.failures == 0,
        "429 is back-pressure, not a node failure"
    );
}

#[tokio::test]
async fn status_429_retries_can_be_switched_off_per_request() {
    let a = MockNode::start(|_| Reply::es(429, "{}")).await;
    let t = transport(&[a.url()])
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap();
    let resp = t
        .send(with_options(
            post("/_bulk", "{}\n"),
            RequestOptions::new().retry_on_429(false),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(a.count(), 1);
    let resp = t.send(get("/x")).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(a.count(), 1 + 4);
}

#[tokio::test]
async fn post_timeout_is_not_retried_by_default() {
    let a = MockNode::start(|_| Reply::ok().delayed(Duration::from_secs(2))).await;
    let b = MockNode::start(|_| Reply::ok().delayed(Duration::from_secs(2))).await;
    let t = transport(&[a.url(), b.url()])
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = t.send(post("/idx/_bulk", "{}\n")).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.is_timeout());
    assert_eq!(a.count() + b.count(), 1);

    // A GET is idempotent: retried. So is a POST whose caller opted in.
    let err = t.send(get("/idx/_doc/1")).await.unwrap_err();
    assert_eq!(err.attempts().len(), 4, "{err}");
    assert!(err.is_timeout());
    let err = t
        .send(with_options(
            post("/idx/_search", "{}"),
            RequestOptions::new().retry_on_timeout(true).max_retries(1),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.attempts().len(), 2, "{err}");
}

#[tokio::test]
async fn deadline_is_honoured() {
    let a = MockNode::start(|_| Reply::ok().delayed(Duration::from_millis(300))).await;
    let t = transport(&[a.url()])
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    let err = t
        .send(with_options(
            get("/x"),
            RequestOptions::new().deadline(Duration::from_millis(500)),
        ))
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, Error::DeadlineExceeded { .. }), "{err:?}");
    assert!(err.is_timeout());
    assert!(took < Duration::from_millis(900), "{took:?}");
    assert!(!err.attempts().is_empty());

    // A 429 backoff that would pass the deadline returns the 429 instead of sleeping.
    a.set_handler(|_| Reply::es(429, "{}"));
    let t = transport(&[a.url()])
        .retry_backoff(Duration::from_secs(5), Duration::from_secs(10))
        .deadline(Duration::from_secs(1))
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    let resp = t.send(get("/x")).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(start.elapsed() < Duration::from_secs(1));
}

/// C11: one slow request must not kill healthy nodes.
#[tokio::test]
async fn slow_request_does_not_block_fast_ones() {
    let handler = |r: &Recorded| {
        if r.target.starts_with("/slow") {
            Reply::ok().delayed(Duration::from_secs(2))
        } else {
            Reply::ok()
        }
    };
    let a = MockNode::start(handler).await;
    let b = MockNode::start(handler).await;
    let t = transport(&[a.url(), b.url()])
        .max_retries(3)
        .request_timeout(Duration::from_millis(300))
        .retry_on_timeout(true)
        .build()
        .unwrap();
    let err = t.send(post("/slow/_search", "{}")).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(err.attempts().len(), 4, "{err}");
    assert!(t.nodes().iter().all(|n| n.dead), "timeouts mark nodes dead");
    let resp = t.send(get("/fast/_doc/1")).await.unwrap();
    assert_eq!(resp.status(), 200);

    // A single-node client never blocks itself.
    let single = transport(&[a.url()])
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(single.send(get("/slow")).await.unwrap_err().is_timeout());
    assert_eq!(single.send(get("/fast")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn connection_reset_is_retried_on_another_node() {
    let a = MockNode::start(|_| Reply::Reset).await;
    let b = MockNode::start(|_| Reply::ok()).await;
    let t = transport(&[a.url(), b.url()]).build().unwrap();
    let resp = t.send(post("/i/_doc", "{}")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!((a.count(), b.count()), (1, 1));
}

#[tokio::test]
async fn concurrency_limit_is_back_pressure_not_failure() {
    let a = MockNode::start(|_| Reply::ok().delayed(Duration::from_millis(100))).await;
    let t = transport(&[a.url()])
        .max_concurrent_requests(2)
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    let futs: Vec<_> = (0..6).map(|_| t.send(get("/x"))).collect();
    for r in futures::future::join_all(futs).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    // 6 requests, 2 at a time, 100 ms each.
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "{:?}",
        start.elapsed()
    );
    assert!(!t.nodes()[0].dead);
}
