//! Scan (scroll and point in time) against a loopback server that records every
//! request and answers from a script (C12).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use elasticsearch_client::helpers::scan::Scan;
use elasticsearch_client::Client;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    target: String,
    body: Value,
}

type Script = dyn Fn(&Recorded) -> (u16, Value) + Send + Sync;

struct Mock {
    url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Mock {
    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }

    fn client(&self) -> Client {
        Client::new(&self.url).expect("client")
    }

    /// Waits until a DELETE arrived (released in the background after a drop).
    async fn wait_for_delete(&self) -> Vec<Recorded> {
        for _ in 0..100 {
            let deletes: Vec<_> = self
                .requests()
                .into_iter()
                .filter(|r| r.method == "DELETE")
                .collect();
            if !deletes.is_empty() {
                return deletes;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Vec::new()
    }
}

async fn mock(script: impl Fn(&Recorded) -> (u16, Value) + Send + Sync + 'static) -> Mock {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let script: Arc<Script> = Arc::new(script);
    let recorded = requests.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (recorded, script) = (recorded.clone(), script.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (recorded, script) = (recorded.clone(), script.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let request = Recorded {
                            method: parts.method.to_string(),
                            target: parts.uri.to_string(),
                            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        };
                        recorded.lock().expect("lock").push(request.clone());
                        let (status, body) = script(&request);
                        Ok::<_, std::convert::Infallible>(
                            http::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .header("x-elastic-product", "Elasticsearch")
                                .body(Full::new(Bytes::from(body.to_string())))
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
    Mock { url, requests }
}

fn page(scroll_id: &str, ids: &[&str]) -> Value {
    let hits: Vec<Value> = ids
        .iter()
        .map(|id| json!({"_index": "i", "_id": id, "_score": null, "_source": {"id": id}, "sort": [0]}))
        .collect();
    json!({"_scroll_id": scroll_id, "took": 1, "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": 3, "relation": "eq"}, "hits": hits}})
}

/// S1 (2 hits) → S2 (1 hit) → S3 (0 hits).
fn three_pages(req: &Recorded) -> (u16, Value) {
    match (req.method.as_str(), req.target.as_str()) {
        ("POST", "/i/_search?scroll=1m") => (200, page("S1", &["a", "b"])),
        ("POST", "/_search/scroll") if req.body["scroll_id"] == "S1" => (200, page("S2", &["c"])),
        ("POST", "/_search/scroll") if req.body["scroll_id"] == "S2" => (200, page("S3", &[])),
        ("DELETE", "/_search/scroll") => (200, json!({"succeeded": true, "num_freed": 1})),
        _ => (400, json!({"error": "unexpected request"})),
    }
}

fn scan(mock: &Mock) -> Scan {
    Scan::new(mock.client()).index("i").size(2).keep_alive("1m")
}

#[tokio::test]
async fn c12_scroll_ids_travel_in_the_body_and_the_last_is_cleared_once() {
    let mock = mock(three_pages).await;
    let hits: Vec<_> = scan(&mock).hits::<Value>().collect().await;
    let ids: Vec<_> = hits
        .into_iter()
        .map(|h| h.expect("hit").id.expect("id"))
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let requests = mock.requests();
    let summary: Vec<_> = requests
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.target, r.body))
        .collect();
    assert_eq!(
        summary,
        [
            r#"POST /i/_search?scroll=1m {"size":2,"sort":["_doc"]}"#,
            r#"POST /_search/scroll {"scroll":"1m","scroll_id":"S1"}"#,
            r#"POST /_search/scroll {"scroll":"1m","scroll_id":"S2"}"#,
            r#"DELETE /_search/scroll {"scroll_id":["S3"]}"#,
        ]
    );
}

#[tokio::test]
async fn c12_dropping_the_stream_after_the_first_page_clears_s1() {
    let mock = mock(three_pages).await;
    let mut hits = scan(&mock).hits::<Value>();
    for _ in 0..2 {
        hits.next().await.expect("hit").expect("ok");
    }
    drop(hits);
    let deletes = mock.wait_for_delete().await;
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].body, json!({"scroll_id": ["S1"]}));
    assert!(
        mock.requests()
            .iter()
            .all(|r| r.target != "/_search/scroll" || r.method == "DELETE"),
        "no page fetched past the first"
    );
}

#[tokio::test]
async fn c12_a_failed_page_is_an_error_and_clears_the_scroll() {
    let mock = mock(|req| match (req.method.as_str(), req.target.as_str()) {
        ("POST", "/_search/scroll") => (
            500,
            json!({"error": {"type": "search_phase_execution_exception", "reason": "all shards failed"}, "status": 500}),
        ),
        ("DELETE", _) => (404, json!({"succeeded": true, "num_freed": 0})),
        _ => three_pages(req),
    })
    .await;
    let results: Vec<_> = scan(&mock).hits::<Value>().collect().await;
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_ok());
    let error = results[2].as_ref().expect_err("page 2 failed");
    assert_eq!(error.status(), Some(500));
    let deletes: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1, "cleared once, a 404 is fine");
    assert_eq!(deletes[0].body, json!({"scroll_id": ["S1"]}));
}

#[tokio::test]
async fn shard_failures_are_errors() {
    let mock = mock(|req| match req.method.as_str() {
        "DELETE" => (200, json!({})),
        _ => {
            let mut p = page("S1", &["a"]);
            p["_shards"] = json!({"total": 2, "successful": 1, "failed": 1, "failures": [
                {"shard": 1, "index": "i", "reason": {"type": "node_disconnected_exception", "reason": "gone"}}]});
            (200, p)
        }
    })
    .await;
    let results: Vec<_> = scan(&mock).hits::<Value>().collect().await;
    assert_eq!(results.len(), 1);
    let error = results[0].as_ref().expect_err("shard failure");
    assert!(
        error.to_string().contains("node_disconnected_exception"),
        "{error}"
    );
    assert_eq!(
        mock.wait_for_delete().await[0].body,
        json!({"scroll_id": ["S1"]})
    );
}

fn pit_script(req: &Recorded) -> (u16, Value) {
    let hit =
        |id: &str, n: u64| json!({"_index": "i", "_id": id, "_source": {"id": id}, "sort": [n, 7]});
    match (req.method.as_str(), req.target.as_str()) {
        ("POST", "/i/_pit?keep_alive=1m") => (200, json!({"id": "P1"})),
        ("POST", "/_search") if req.body["pit"]["id"] == "P1" => (
            200,
            json!({"pit_id": "P2", "_shards": {"total": 1, "failed": 0}, "hits": {"hits": [hit("a", 1), hit("b", 2)]}}),
        ),
        ("POST", "/_search") if req.body["pit"]["id"] == "P2" => (
            200,
            json!({"pit_id": "P3", "_shards": {"total": 1, "failed": 0}, "hits": {"hits": [hit("c", 3)]}}),
        ),
        ("DELETE", "/_pit") => (200, json!({"succeeded": true, "num_freed": 1})),
        _ => (400, json!({"error": "unexpected"})),
    }
}

#[tokio::test]
async fn point_in_time_uses_the_latest_id_and_search_after_and_closes() {
    let mock = mock(pit_script).await;
    let hits: Vec<_> = scan(&mock).point_in_time().hits::<Value>().collect().await;
    let ids: Vec<_> = hits
        .into_iter()
        .map(|h| h.expect("hit").id.expect("id"))
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let requests = mock.requests();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert_eq!(
        requests[1].body,
        json!({"size": 2, "pit": {"id": "P1", "keep_alive": "1m"}, "sort": [{"_shard_doc": "asc"}]})
    );
    assert_eq!(requests[2].body["pit"]["id"], "P2");
    assert_eq!(requests[2].body["search_after"], json!([2, 7]));
    assert_eq!(requests[3].method, "DELETE");
    assert_eq!(requests[3].body, json!({"id": "P3"}));
}

#[tokio::test]
async fn point_in_time_is_closed_when_the_stream_is_dropped() {
    let mock = mock(pit_script).await;
    let mut hits = scan(&mock).point_in_time().hits::<Value>();
    hits.next().await.expect("hit").expect("ok");
    drop(hits);
    let deletes = mock.wait_for_delete().await;
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].body, json!({"id": "P2"}));
}
