//! Fault injection for the bulk ingester: a loopback HTTP server records every
//! request (target, headers, body bytes) and answers from a script.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use elasticsearch_client::helpers::bulk::{
    BulkAction, BulkIngester, BulkIngesterBuilder, BulkOperation, BulkOutcome,
};
use elasticsearch_client::Client;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[derive(Clone, Debug)]
struct Recorded {
    target: String,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Recorded {
    /// The `_id` of every operation in the body, in order.
    fn ids(&self) -> Vec<String> {
        operations(&self.body)
            .into_iter()
            .map(|(_, id, _)| id)
            .collect()
    }
}

/// (action, id, lines) of each operation of an NDJSON bulk body.
fn operations(body: &[u8]) -> Vec<(String, String, Vec<u8>)> {
    let text = std::str::from_utf8(body).expect("utf-8 body");
    let mut lines = text.split_terminator('\n');
    let mut out = Vec::new();
    while let Some(action_line) = lines.next() {
        let action: HashMap<String, Value> =
            serde_json::from_str(action_line).expect("action line");
        let (name, meta) = action.into_iter().next().expect("one action");
        let id = meta["_id"].as_str().unwrap_or_default().to_string();
        let mut raw = format!("{action_line}\n");
        if name != "delete" {
            raw.push_str(lines.next().expect("source line"));
            raw.push('\n');
        }
        out.push((name, id, raw.into_bytes()));
    }
    out
}

enum Reply {
    Status(u16, String),
    Reset,
    Delayed(Duration, u16, String),
}

fn ok(body: Value) -> Reply {
    Reply::Status(200, body.to_string())
}

struct Mock {
    url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    max_concurrent: Arc<AtomicUsize>,
}

impl Mock {
    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }

    fn client(&self) -> Client {
        Client::new(&self.url).expect("client")
    }
}

type Script = dyn Fn(usize, &Recorded) -> Reply + Send + Sync;

async fn mock(script: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static) -> Mock {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let script: Arc<Script> = Arc::new(script);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_concurrent = Arc::new(AtomicUsize::new(0));
    let (recorded, max) = (requests.clone(), max_concurrent.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (recorded, script, in_flight, max) = (
                recorded.clone(),
                script.clone(),
                in_flight.clone(),
                max.clone(),
            );
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (recorded, script, in_flight, max) = (
                        recorded.clone(),
                        script.clone(),
                        in_flight.clone(),
                        max.clone(),
                    );
                    async move {
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(now, Ordering::SeqCst);
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let request = Recorded {
                            target: parts.uri.to_string(),
                            headers: parts.headers,
                            body,
                        };
                        let n = {
                            let mut all = recorded.lock().expect("lock");
                            all.push(request.clone());
                            all.len() - 1
                        };
                        let reply = script(n, &request);
                        let result = match reply {
                            Reply::Reset => Err("reset by script"),
                            Reply::Status(status, body) => Ok((status, body)),
                            Reply::Delayed(delay, status, body) => {
                                tokio::time::sleep(delay).await;
                                Ok((status, body))
                            }
                        };
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        let (status, body) = result?;
                        Ok::<_, &'static str>(
                            http::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .header("x-elastic-product", "Elasticsearch")
                                .body(Full::new(Bytes::from(body)))
                                .expect("response"),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Mock {
        url,
        requests,
        max_concurrent,
    }
}

fn created(id: &str, seq_no: u64) -> Value {
    json!({"index": {"_index": "t", "_id": id, "_version": 1, "result": "created",
        "_shards": {"total": 1, "successful": 1, "failed": 0},
        "_seq_no": seq_no, "_primary_term": 1, "status": 201}})
}

fn rejected(id: &str) -> Value {
    json!({"index": {"_index": "t", "_id": id, "status": 429, "error": {
        "type": "es_rejected_execution_exception",
        "reason": "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, max_coordinating_and_primary_bytes=1]"}}})
}

fn bad_document(id: &str) -> Value {
    json!({"index": {"_index": "t", "_id": id, "status": 400, "error": {
        "type": "document_parsing_exception",
        "reason": "[1:8] failed to parse field [n] of type [long] in document with id '2'",
        "caused_by": {"type": "illegal_argument_exception", "reason": "For input string: \"x\""}}}})
}

fn conflict(id: &str) -> Value {
    json!({"index": {"_index": "t", "_id": id, "status": 409, "error": {
        "type": "version_conflict_engine_exception",
        "reason": format!("[{id}]: version conflict, document already exists (current version [1])")}}})
}

fn bulk_reply(items: Vec<Value>) -> Reply {
    let errors = items.iter().any(|i| {
        i.as_object()
            .and_then(|o| o.values().next())
            .is_some_and(|v| v.get("error").is_some())
    });
    ok(json!({"took": 1, "errors": errors, "items": items}))
}

/// Answers every operation as created.
fn all_created(req: &Recorded) -> Reply {
    bulk_reply(
        req.ids()
            .iter()
            .enumerate()
            .map(|(n, id)| created(id, n as u64))
            .collect(),
    )
}

fn builder<K: Send + 'static>(mock: &Mock) -> BulkIngesterBuilder<K> {
    BulkIngester::builder(mock.client())
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .flush_interval(None)
}

fn op(id: u32) -> BulkOperation<u32> {
    BulkOperation::index(json!({"n": id}))
        .id(id.to_string())
        .key(id)
}

async fn collect<K: Send + 'static>(
    builder: BulkIngesterBuilder<K>,
    ops: Vec<BulkOperation<K>>,
) -> (
    Vec<BulkOutcome<K>>,
    elasticsearch_client::helpers::bulk::BulkStats,
) {
    let mut outcomes = builder.ingest(futures::stream::iter(ops));
    let mut all = Vec::new();
    while let Some(outcome) = outcomes.next().await {
        all.push(outcome);
    }
    (all, outcomes.stats())
}

fn by_key<K: std::hash::Hash + Eq + Copy + std::fmt::Debug>(
    outcomes: &[BulkOutcome<K>],
) -> HashMap<K, &BulkOutcome<K>> {
    let mut map = HashMap::new();
    for o in outcomes {
        assert!(
            map.insert(o.key, o).is_none(),
            "two outcomes for {:?}",
            o.key
        );
    }
    map
}

// C7: a 429 item inside a 200 `errors:true` reply is sent again, alone.
#[tokio::test]
async fn c7_only_the_rejected_item_is_sent_again() {
    let mock = mock(|n, req| match n {
        0 => bulk_reply(vec![created("1", 0), rejected("2"), created("3", 1)]),
        _ => bulk_reply(req.ids().iter().map(|id| created(id, 2)).collect()),
    })
    .await;
    let (outcomes, stats) = collect(
        builder(&mock).max_retries(2).max_operations(3),
        vec![op(1), op(2), op(3)],
    )
    .await;

    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].ids(), ["1", "2", "3"]);
    let item2 = op(2).to_ndjson().expect("serializable");
    assert_eq!(requests[1].body, item2, "only item 2, action and source");
    assert_eq!(
        &requests[1].body[..],
        b"{\"index\":{\"_id\":\"2\"}}\n{\"n\":2}\n"
    );

    assert_eq!(outcomes.len(), 3);
    let outcomes = by_key(&outcomes);
    for key in [1, 2, 3] {
        let outcome = outcomes[&key];
        let success = outcome.success().expect("applied");
        assert_eq!(success.status, 201);
        assert_eq!(success.id.as_deref(), Some(key.to_string().as_str()));
        assert_eq!(success.result.as_deref(), Some("created"));
    }
    assert_eq!(outcomes[&2].attempts, 2);
    assert_eq!(outcomes[&1].attempts, 1);
    assert_eq!(
        (
            stats.successes,
            stats.failures,
            stats.retries,
            stats.requests
        ),
        (3, 0, 1, 2)
    );
}

// C7: when the 429 persists past the retry limit, the item fails with 429 and its
// original action.
#[tokio::test]
async fn c7_persisting_429_fails_the_item_with_its_original_action() {
    let mock = mock(|n, req| match n {
        0 => bulk_reply(vec![created("1", 0), rejected("2"), created("3", 1)]),
        _ => bulk_reply(req.ids().iter().map(|id| rejected(id)).collect()),
    })
    .await;
    let (outcomes, stats) = collect(
        builder(&mock).max_retries(2).max_operations(3),
        vec![op(1), op(2), op(3)],
    )
    .await;

    let requests = mock.requests();
    assert_eq!(requests.len(), 3, "first send and two retries");
    for retry in &requests[1..] {
        assert_eq!(retry.ids(), ["2"]);
    }
    let outcomes = by_key(&outcomes);
    assert!(outcomes[&1].is_success() && outcomes[&3].is_success());
    let failure = outcomes[&2].failure().expect("failed");
    assert_eq!(failure.status, Some(429));
    assert_eq!(failure.error_type, "es_rejected_execution_exception");
    assert!(failure.reason.starts_with("rejected execution"));
    assert_eq!(failure.attempts, 3);
    assert_eq!(failure.operation, op(2).to_ndjson().expect("serializable"));
    assert_eq!(failure.action_line(), b"{\"index\":{\"_id\":\"2\"}}");
    assert_eq!(failure.source_line(), Some(&b"{\"n\":2}"[..]));
    assert_eq!(outcomes[&2].action, BulkAction::Index);
    assert_eq!((stats.successes, stats.failures, stats.retries), (2, 1, 2));
}

// C7: 400 and 409 items are reported at once and never sent again.
#[tokio::test]
async fn c7_400_and_409_are_reported_at_once_never_retried() {
    let mock =
        mock(|_, _| bulk_reply(vec![created("1", 0), bad_document("2"), conflict("3")])).await;
    let (outcomes, stats) = collect(
        builder(&mock).max_retries(5).max_operations(3),
        vec![op(1), op(2), op(3)],
    )
    .await;
    assert_eq!(mock.requests().len(), 1);
    let outcomes = by_key(&outcomes);
    let bad = outcomes[&2].failure().expect("failed");
    assert_eq!(
        (bad.status, bad.error_type.as_str(), bad.attempts),
        (Some(400), "document_parsing_exception", 1)
    );
    assert!(
        bad.reason.contains("failed to parse field [n]"),
        "{}",
        bad.reason
    );
    assert!(bad.reason.contains("For input string"), "{}", bad.reason);
    let conflict = outcomes[&3].failure().expect("failed");
    assert_eq!(
        (
            conflict.status,
            conflict.error_type.as_str(),
            conflict.attempts
        ),
        (Some(409), "version_conflict_engine_exception", 1)
    );
    assert_eq!((stats.retries, stats.failures, stats.successes), (0, 2, 1));
}

// C8: the NDJSON body, byte for byte, and its media type.
#[tokio::test]
async fn c8_ndjson_body_bytes_and_content_type() {
    let mock = mock(|_, _| {
        bulk_reply(vec![
            created("1", 0),
            json!({"delete": {"_index": "t", "_id": "2", "_version": 2, "result": "deleted", "status": 200}}),
            created("3", 1),
        ])
    })
    .await;
    let ops = vec![
        BulkOperation::index(json!({"msg": "line1\nline2", "n": 1}))
            .index_name("t")
            .id("1"),
        BulkOperation::delete("2"),
        BulkOperation::index_raw(r#"{"pre":"serialized"}"#).id("3"),
    ];
    let (outcomes, _) = collect(builder(&mock).max_operations(3), ops).await;
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes.iter().all(|o| o.is_success()), "{outcomes:?}");
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let expected: &[u8] = b"{\"index\":{\"_index\":\"t\",\"_id\":\"1\"}}\n\
{\"msg\":\"line1\\nline2\",\"n\":1}\n\
{\"delete\":{\"_id\":\"2\"}}\n\
{\"index\":{\"_id\":\"3\"}}\n\
{\"pre\":\"serialized\"}\n";
    assert_eq!(
        std::str::from_utf8(&requests[0].body).expect("utf-8"),
        std::str::from_utf8(expected).expect("utf-8")
    );
    assert_eq!(requests[0].target, "/_bulk");
    assert_eq!(
        requests[0].headers["content-type"],
        "application/vnd.elasticsearch+x-ndjson; compatible-with=9"
    );
}

// The default index and request parameters go into the target, encoded.
#[tokio::test]
async fn default_index_and_parameters_go_into_the_target() {
    let mock = mock(|_, req| all_created(req)).await;
    let (outcomes, _) = collect(
        builder(&mock)
            .index("logs/2026")
            .pipeline("geo ip")
            .refresh("wait_for"),
        vec![op(1)],
    )
    .await;
    assert!(outcomes[0].is_success());
    assert_eq!(
        mock.requests()[0].target,
        "/logs%2F2026/_bulk?pipeline=geo%20ip&refresh=wait_for"
    );
}

// A 413 splits the request in halves; an operation too large alone fails with 413.
#[tokio::test]
async fn request_too_large_is_split_and_an_oversize_operation_is_reported() {
    const LIMIT: usize = 200;
    let mock = mock(|_, req| {
        if req.body.len() > LIMIT {
            Reply::Status(413, String::new())
        } else {
            all_created(req)
        }
    })
    .await;
    let mut ops: Vec<_> = (1..=8).map(op).collect();
    ops.insert(
        5,
        BulkOperation::index(json!({"big": "x".repeat(500)}))
            .id("99")
            .key(99),
    );
    let (outcomes, stats) = collect(builder(&mock).max_operations(100), ops).await;
    assert_eq!(outcomes.len(), 9);
    let outcomes = by_key(&outcomes);
    for key in 1..=8 {
        assert!(outcomes[&key].is_success(), "{:?}", outcomes[&key]);
    }
    let big = outcomes[&99].failure().expect("too large");
    assert_eq!(big.status, Some(413));
    assert_eq!(big.error_type, "request_too_large");
    assert_eq!(stats.failures, 1);
    let requests = mock.requests();
    // Every small operation was accepted exactly once.
    let mut accepted: Vec<String> = requests
        .iter()
        .filter(|r| r.body.len() <= LIMIT)
        .flat_map(|r| r.ids())
        .collect();
    accepted.sort();
    assert_eq!(accepted, ["1", "2", "3", "4", "5", "6", "7", "8"]);
    assert_eq!(requests[0].ids().len(), 9);
    assert_eq!(requests[1].ids().len(), 4, "first half first");
}

// A whole request answered 503 is sent again; then it succeeds.
#[tokio::test]
async fn whole_request_503_then_success() {
    let mock = mock(|n, req| match n {
        0 => Reply::Status(
            503,
            json!({"error": {"type": "cluster_block_exception", "reason": "blocked by: [SERVICE_UNAVAILABLE/2/no master]"}, "status": 503}).to_string(),
        ),
        _ => all_created(req),
    })
    .await;
    let (outcomes, stats) =
        collect(builder(&mock).max_operations(3), vec![op(1), op(2), op(3)]).await;
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert!(outcomes.iter().all(|o| o.is_success() && o.attempts == 2));
    assert_eq!((stats.retries, stats.requests, stats.successes), (3, 2, 3));
}

// Retries stop at the limit: every operation then fails with the request's error.
#[tokio::test]
async fn persisting_502_fails_every_operation_after_the_retries() {
    let mock = mock(|_, _| Reply::Status(502, "<html>Bad Gateway</html>".to_string())).await;
    let (outcomes, stats) = collect(
        builder(&mock).max_retries(3).max_operations(2),
        vec![op(1), op(2)],
    )
    .await;
    assert_eq!(mock.requests().len(), 4);
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        let failure = o.failure().expect("failed");
        assert_eq!(failure.status, Some(502));
        assert_eq!(failure.attempts, 4);
        assert!(failure.reason.contains("Bad Gateway"), "{}", failure.reason);
    }
    assert_eq!(stats.retries, 6);
}

// A whole request answered 429 is retried by the ingester alone (the transport's
// own 429 retries are off): exactly retries + 1 requests.
#[tokio::test]
async fn whole_request_429_is_retried_by_the_ingester_only() {
    let mock = mock(|_, _| {
        Reply::Status(
            429,
            json!({"error": {"type": "es_rejected_execution_exception", "reason": "rejected"}, "status": 429}).to_string(),
        )
    })
    .await;
    let (outcomes, _) = collect(builder(&mock).max_retries(2), vec![op(1)]).await;
    assert_eq!(mock.requests().len(), 3);
    let failure = outcomes[0].failure().expect("failed");
    assert_eq!(
        (
            failure.status,
            failure.error_type.as_str(),
            failure.attempts
        ),
        (Some(429), "es_rejected_execution_exception", 3)
    );
}

// Other whole-request errors are reported at once for every operation.
#[tokio::test]
async fn whole_request_400_is_not_retried() {
    let mock = mock(|_, _| {
        Reply::Status(
            400,
            json!({"error": {"type": "illegal_argument_exception", "reason": "Malformed action/metadata line [1]"}, "status": 400}).to_string(),
        )
    })
    .await;
    let (outcomes, _) = collect(builder(&mock).max_operations(2), vec![op(1), op(2)]).await;
    assert_eq!(mock.requests().len(), 1);
    for o in &outcomes {
        let f = o.failure().expect("failed");
        assert_eq!(
            (f.status, f.error_type.as_str(), f.reason.as_str()),
            (
                Some(400),
                "illegal_argument_exception",
                "Malformed action/metadata line [1]"
            )
        );
    }
}

// A connection reset is retried like a 503.
#[tokio::test]
async fn connection_reset_then_success() {
    let mock = mock(|n, req| match n {
        0 => Reply::Reset,
        _ => all_created(req),
    })
    .await;
    let (outcomes, stats) = collect(builder(&mock).max_operations(2), vec![op(1), op(2)]).await;
    assert_eq!(mock.requests().len(), 2);
    assert!(
        outcomes.iter().all(|o| o.is_success() && o.attempts == 2),
        "{outcomes:?}"
    );
    assert_eq!(stats.retries, 2);
}

// A node that never answers: every operation fails with a transport error.
#[tokio::test]
async fn connection_refused_fails_every_operation_after_the_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let builder = BulkIngester::builder(Client::new(&url).expect("client"))
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .max_retries(2);
    let (outcomes, stats) = collect(builder, vec![op(1), op(2)]).await;
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        let f = o.failure().expect("failed");
        assert_eq!(
            (f.status, f.error_type.as_str(), f.attempts),
            (None, "transport_error", 3)
        );
    }
    assert_eq!(stats.requests, 3);
}

// Replies with fewer, more, or unreadable items: every operation still gets one outcome.
#[tokio::test]
async fn odd_responses_give_every_operation_an_outcome() {
    let mock = mock(|n, _| match n {
        // Three operations, two items.
        0 => bulk_reply(vec![created("1", 0), created("2", 1)]),
        // Three operations, four items.
        1 => bulk_reply(vec![
            created("4", 0),
            created("5", 1),
            created("6", 2),
            created("7", 3),
        ]),
        // An unreadable item and an item for another document.
        2 => bulk_reply(vec![json!("??"), created("8", 0), created("999", 1)]),
        // Not JSON at all.
        _ => Reply::Status(200, "<html>ok</html>".to_string()),
    })
    .await;
    let (outcomes, stats) = collect(
        builder(&mock).max_operations(3).concurrency(1),
        (1..=12).map(op).collect(),
    )
    .await;
    assert_eq!(outcomes.len(), 12);
    let outcomes = by_key(&outcomes);
    let kind = |k: u32| {
        outcomes[&k]
            .failure()
            .map(|f| f.error_type.clone())
            .unwrap_or_else(|| "ok".to_string())
    };
    assert_eq!(kind(1), "ok");
    assert_eq!(kind(2), "ok");
    assert_eq!(kind(3), "missing_response_item");
    assert_eq!(
        (kind(4), kind(5), kind(6)),
        ("ok".into(), "ok".into(), "ok".into())
    );
    assert_eq!(kind(7), "unreadable_response_item");
    assert_eq!(kind(8), "ok");
    assert_eq!(kind(9), "mismatched_response_item");
    for k in 10..=12 {
        assert_eq!(kind(k), "unreadable_response");
    }
    assert_eq!((stats.successes, stats.failures), (6, 6));
}

// Flushing by count, by bytes and by interval.
#[tokio::test]
async fn flushes_by_count_bytes_and_interval() {
    let mock1 = mock(|_, req| all_created(req)).await;
    collect(builder(&mock1).max_operations(2), (1..=5).map(op).collect()).await;
    let sizes: Vec<usize> = mock1.requests().iter().map(|r| r.ids().len()).collect();
    assert_eq!(sizes, [2, 2, 1]);

    let mock2 = mock(|_, req| all_created(req)).await;
    let one = op(1).to_ndjson().expect("serializable").len();
    collect(
        builder(&mock2).max_operations(100).max_bytes(3 * one + 1),
        (1..=7).map(op).collect(),
    )
    .await;
    let requests = mock2.requests();
    let sizes: Vec<usize> = requests.iter().map(|r| r.ids().len()).collect();
    assert_eq!(sizes, [3, 3, 1]);
    assert!(requests.iter().all(|r| r.body.len() <= 3 * one + 1));

    let mock3 = mock(|_, req| all_created(req)).await;
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let ingester = builder::<u32>(&mock3)
        .flush_interval(Some(Duration::from_millis(50)))
        .on_outcome(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build();
    for n in 1..=3 {
        ingester.add(op(n)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        mock3.requests().len(),
        1,
        "sent by the interval, before close"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    let stats = ingester.close().await;
    assert_eq!((stats.requests, stats.successes), (1, 3));
}

// Memory stays bounded: `add` waits while the in-flight byte budget is spent, and no
// more than `concurrency` requests are in flight.
#[tokio::test]
async fn back_pressure_bounds_pending_operations_and_concurrency() {
    let mock = mock(|_, req| {
        let Reply::Status(status, body) = all_created(req) else {
            unreachable!()
        };
        Reply::Delayed(Duration::from_millis(20), status, body)
    })
    .await;
    let one = op(100).to_ndjson().expect("serializable").len();
    let budget = 2 * 5 * one;
    let ingester = builder::<u32>(&mock)
        .concurrency(2)
        .max_bytes(5 * one)
        .max_in_flight_bytes(budget)
        .build();
    let mut max_pending = 0;
    for n in 100..400 {
        ingester.add(op(n)).await;
        max_pending = max_pending.max(ingester.stats().pending());
    }
    let stats = ingester.close().await;
    assert_eq!((stats.successes, stats.failures), (300, 0));
    assert!(
        max_pending as usize <= budget / one,
        "{max_pending} pending"
    );
    assert!(max_pending >= 5, "the budget was used: {max_pending}");
    assert!(mock.max_concurrent.load(Ordering::SeqCst) <= 2);
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Failed operations go to the dead-letter sink with their errors; unserializable
// documents are failures too, never sent.
#[tokio::test]
async fn dead_letter_sink_and_unserializable_documents() {
    let mock = mock(|_, req| {
        bulk_reply(
            req.ids()
                .iter()
                .map(|id| {
                    if id == "2" {
                        bad_document(id)
                    } else {
                        created(id, 0)
                    }
                })
                .collect(),
        )
    })
    .await;
    let sink = SharedBuf::default();
    let ops = vec![
        op(1),
        op(2),
        BulkOperation::index(HashMap::from([("x", f64::NAN)]))
            .id("3")
            .key(3),
        BulkOperation::index(vec![f64::INFINITY]).id("4").key(4),
    ];
    let (outcomes, stats) = collect(builder(&mock).dead_letter(sink.clone()), ops).await;
    assert_eq!(outcomes.len(), 4);
    let outcomes = by_key(&outcomes);
    assert!(outcomes[&1].is_success());
    assert_eq!(outcomes[&2].failure().expect("failed").status, Some(400));
    let unserializable = outcomes[&4].failure().expect("failed");
    assert_eq!(
        (unserializable.error_type.as_str(), unserializable.attempts),
        ("serialization_error", 0)
    );
    assert_eq!(mock.requests()[0].ids(), ["1", "2"]);
    assert_eq!((stats.successes, stats.failures), (1, 3));

    let text = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 3);
    let two = lines
        .iter()
        .find(|l| l["action"]["index"]["_id"] == "2")
        .expect("item 2 dead-lettered");
    assert_eq!(two["status"], 400);
    assert_eq!(two["error"]["type"], "document_parsing_exception");
    assert_eq!(two["attempts"], 1);
    assert_eq!(two["source"], json!({"n": 2}));
    let three = lines
        .iter()
        .find(|l| l["action"]["index"]["_id"] == "3")
        .expect("item 3 dead-lettered");
    assert_eq!(three["error"]["type"], "serialization_error");
    assert!(three.get("source").is_none());
}

// The property: whatever the server does, every operation gets exactly one outcome,
// and an operation reported applied was answered with a 2xx item.
#[tokio::test]
async fn exactly_one_outcome_per_operation_under_random_faults() {
    for seed in 0..6u64 {
        let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
        let applied: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (script_rng, script_applied) = (rng.clone(), applied.clone());
        let mock = mock(move |_, req| {
            let mut rng = script_rng.lock().expect("lock");
            let ids = req.ids();
            let roll: f64 = rng.random();
            if roll < 0.08 {
                return Reply::Reset;
            }
            if roll < 0.16 {
                return Reply::Status([429, 502, 503, 504][rng.random_range(0..4)], String::new());
            }
            if roll < 0.20 && ids.len() > 1 {
                return Reply::Status(413, String::new());
            }
            if roll < 0.23 {
                return Reply::Status(500, "{\"error\":\"boom\"}".to_string());
            }
            let mut items: Vec<Value> = ids
                .iter()
                .map(|id| match rng.random_range(0..10) {
                    0..=5 => {
                        *script_applied
                            .lock()
                            .expect("lock")
                            .entry(id.clone())
                            .or_default() += 1;
                        created(id, 0)
                    }
                    6 | 7 => rejected(id),
                    8 => bad_document(id),
                    _ => conflict(id),
                })
                .collect();
            if rng.random_bool(0.05) {
                items.truncate(rng.random_range(0..=items.len()));
            }
            if rng.random_bool(0.05) {
                items.push(json!(17));
            }
            bulk_reply(items)
        })
        .await;
        let n = 300u32;
        let b = {
            let mut r = rng.lock().expect("lock");
            builder::<u32>(&mock)
                .max_operations(r.random_range(1..40))
                .concurrency(r.random_range(1..4))
                .max_retries(r.random_range(0..4))
        };
        let (outcomes, stats) = collect(b, (0..n).map(op).collect()).await;
        assert_eq!(outcomes.len(), n as usize, "seed {seed}");
        let outcomes = by_key(&outcomes);
        assert_eq!(outcomes.len(), n as usize);
        assert_eq!(stats.successes + stats.failures, n as u64, "seed {seed}");
        let applied = applied.lock().expect("lock");
        for (key, outcome) in &outcomes {
            if outcome.is_success() {
                assert!(applied.contains_key(&key.to_string()), "seed {seed}: {key}");
            }
            assert!(outcome.attempts >= 1, "seed {seed}: {outcome:?}");
        }
    }
}

// Keys come back with outcomes; outcomes also reach the callback, and progress is reported.
#[tokio::test]
async fn keys_callbacks_and_progress() {
    let mock = mock(|_, req| all_created(req)).await;
    let via_callback = Arc::new(Mutex::new(Vec::new()));
    let progress = Arc::new(Mutex::new(Vec::new()));
    let (cb, pr) = (via_callback.clone(), progress.clone());
    let (ingester, mut outcomes) = builder::<&'static str>(&mock)
        .max_operations(2)
        .on_outcome(move |o| cb.lock().expect("lock").push(o.key))
        .on_progress(move |s| pr.lock().expect("lock").push(s.completed()))
        .build_with_outcomes();
    let reader = tokio::spawn(async move {
        let mut keys = Vec::new();
        while let Some(o) = outcomes.next().await {
            keys.push(o.key);
        }
        keys
    });
    for (id, key) in [("a", "first"), ("b", "second"), ("c", "third")] {
        ingester
            .add(BulkOperation::create(json!({"id": id})).id(id).key(key))
            .await;
    }
    let stats = ingester.close().await;
    let mut keys = reader.await.expect("reader");
    keys.sort();
    assert_eq!(keys, ["first", "second", "third"]);
    assert_eq!(via_callback.lock().expect("lock").len(), 3);
    let progress = progress.lock().expect("lock");
    assert_eq!(progress.last(), Some(&3));
    assert_eq!((stats.operations, stats.requests), (3, 2));
    assert_eq!(
        stats.bytes,
        mock.requests()
            .iter()
            .map(|r| r.body.len() as u64)
            .sum::<u64>()
    );
}

// A panicking outcome callback loses no outcome; the clock stops when all are delivered.
#[tokio::test]
async fn a_panicking_callback_loses_no_outcome() {
    let mock = mock(|_, req| all_created(req)).await;
    let mut outcomes = builder(&mock)
        .max_operations(3)
        .on_outcome(|o: &BulkOutcome<u32>| {
            assert!(o.key != 2, "callback failure for key 2");
        })
        .ingest(futures::stream::iter(vec![op(1), op(2), op(3)]));
    let mut all = Vec::new();
    while let Some(o) = outcomes.next().await {
        all.push(o);
    }
    assert_eq!(by_key(&all).len(), 3);
    let first = outcomes.stats();
    assert_eq!(first.successes, 3);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(outcomes.stats().elapsed, first.elapsed, "elapsed is final");
}
