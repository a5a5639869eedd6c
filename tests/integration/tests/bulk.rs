//! The bulk ingester against a real Elasticsearch node: `ELASTICSEARCH_URL`, or the
//! cluster started with `cargo xtask es start`.
//!
//! The `#[ignore]`d tests need a particular node setup, named in their reason; run
//! them with `cargo test -p integration-tests --test bulk -- --ignored <name>`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use bytes::Bytes;
use elasticsearch_client::helpers::bulk::{BulkIngester, BulkOperation, BulkOutcome, BulkStats};
use elasticsearch_client::{CallOptions, Client, RequestBody};
use futures::StreamExt;
use http::Method;
use integration_tests::{client, Revive, FLIGHTS_200K};
use serde_json::{json, Value};

async fn call(client: &Client, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
    let body = body.map(|b| RequestBody::Json(Bytes::from(b.to_string())));
    let response = client
        .request(method.clone(), path, body, &CallOptions::default())
        .await
        .with_context(|| format!("{method} {path}"))?;
    let text = String::from_utf8_lossy(&response.body).to_string();
    ensure!(
        response.status.is_success(),
        "{method} {path}: HTTP {}: {text}",
        response.status
    );
    Ok(if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)?
    })
}

/// A fresh index with `body` as its creation body.
async fn fresh_index(client: &Client, name: &str, body: Value) -> Result<()> {
    client
        .request(
            Method::DELETE,
            &format!("/{name}"),
            None,
            &CallOptions::default(),
        )
        .await?;
    call(client, Method::PUT, &format!("/{name}"), Some(body)).await?;
    Ok(())
}

async fn count(client: &Client, index: &str) -> Result<u64> {
    call(client, Method::POST, &format!("/{index}/_refresh"), None).await?;
    let answer = call(client, Method::GET, &format!("/{index}/_count"), None).await?;
    answer["count"].as_u64().context("count in the answer")
}

async fn drain<K: Send + 'static>(
    mut outcomes: elasticsearch_client::helpers::bulk::BulkOutcomes<K>,
) -> (Vec<BulkOutcome<K>>, BulkStats) {
    let mut all = Vec::new();
    while let Some(o) = outcomes.next().await {
        all.push(o);
    }
    let stats = outcomes.stats();
    (all, stats)
}

/// Every key exactly once.
fn one_each<K: std::hash::Hash + Eq + Copy + std::fmt::Debug>(
    outcomes: &[BulkOutcome<K>],
    expected: usize,
) -> HashMap<K, &BulkOutcome<K>> {
    let mut map = HashMap::new();
    for o in outcomes {
        assert!(
            map.insert(o.key, o).is_none(),
            "two outcomes for {:?}",
            o.key
        );
    }
    assert_eq!(map.len(), expected, "one outcome per operation");
    map
}

// Mixed failures: a strict mapping rejects exactly the documents that violate it, with
// the server's reason; every other document is indexed.
#[tokio::test]
async fn mixed_failures_report_exactly_the_rejected_documents() -> Result<()> {
    let client = client()?;
    let index = "bulk-mixed-failures";
    fresh_index(
        &client,
        index,
        json!({"mappings": {"dynamic": "strict", "properties": {
            "n": {"type": "integer"}, "name": {"type": "keyword"}}}}),
    )
    .await?;
    let ops = (0..200u32).map(|n| {
        let doc = match n % 10 {
            3 => json!({"n": "not a number", "name": "bad-type"}),
            7 => json!({"n": n, "name": "extra", "unexpected": true}),
            _ => json!({"n": n, "name": format!("doc-{n}")}),
        };
        BulkOperation::index(doc).id(n.to_string()).key(n)
    });
    let (outcomes, stats) = drain(
        BulkIngester::builder(client.clone())
            .index(index)
            .max_operations(64)
            .ingest(futures::stream::iter(ops)),
    )
    .await;
    let outcomes = one_each(&outcomes, 200);
    for (n, outcome) in &outcomes {
        match n % 10 {
            3 => {
                let f = outcome
                    .failure()
                    .context("a string in an integer field fails")?;
                assert_eq!(f.status, Some(400), "{f:?}");
                assert_eq!(f.error_type, "document_parsing_exception", "{f:?}");
                assert!(
                    f.reason.contains("failed to parse field [n]"),
                    "{}",
                    f.reason
                );
                if stats.retries == 0 {
                    assert_eq!(f.attempts, 1, "a 400 is not retried");
                }
            }
            7 => {
                let f = outcome.failure().context("an unmapped field fails")?;
                assert_eq!(f.status, Some(400), "{f:?}");
                assert_eq!(f.error_type, "strict_dynamic_mapping_exception", "{f:?}");
                assert!(f.reason.contains("[unexpected]"), "{}", f.reason);
            }
            _ => {
                let s = outcome.success().context("a valid document is indexed")?;
                assert_eq!(s.result.as_deref(), Some("created"));
                assert_eq!(s.id.as_deref(), Some(n.to_string().as_str()));
                assert_eq!(s.index.as_deref(), Some(index));
                assert!(s.seq_no.is_some() && s.primary_term.is_some() && s.version == Some(1));
            }
        }
    }
    assert_eq!((stats.successes, stats.failures), (160, 40));
    assert_eq!(count(&client, index).await?, 160);
    Ok(())
}

// 10,000 small documents with ids: all indexed, one outcome each.
#[tokio::test]
async fn ten_thousand_documents_with_ids() -> Result<()> {
    let client = client()?;
    let index = "bulk-10k";
    fresh_index(
        &client,
        index,
        json!({"settings": {"number_of_shards": 2, "number_of_replicas": 0}}),
    )
    .await?;
    let ops = (0..10_000u32).map(|n| {
        BulkOperation::index(json!({"n": n, "title": format!("document number {n}")}))
            .id(format!("doc-{n}"))
            .key(n)
    });
    let (ingester, outcomes) = BulkIngester::builder(client.clone())
        .index(index)
        .max_operations(700)
        .concurrency(3)
        .build_with_outcomes();
    let reader = tokio::spawn(drain(outcomes));
    ingester.add_all(futures::stream::iter(ops)).await;
    let stats = ingester.close().await;
    let (outcomes, _) = reader.await?;
    let outcomes = one_each(&outcomes, 10_000);
    let failed = outcomes.values().find_map(|o| o.failure());
    assert!(failed.is_none(), "{failed:?}");
    assert_eq!(
        (stats.operations, stats.successes, stats.failures),
        (10_000, 10_000, 0)
    );
    if stats.retries == 0 {
        assert_eq!(stats.requests, 15, "10,000 in requests of 700");
    }
    assert_eq!(count(&client, index).await?, 10_000);
    let doc = call(
        &client,
        Method::GET,
        &format!("/{index}/_doc/doc-4321"),
        None,
    )
    .await?;
    assert_eq!(doc["_source"]["n"], 4321);
    Ok(())
}

// C8 on the node: a newline inside a string, a delete, a pre-serialized source.
#[tokio::test]
async fn ndjson_bodies_on_the_node() -> Result<()> {
    let client = client()?;
    let index = "bulk-ndjson";
    fresh_index(&client, index, json!({})).await?;
    call(
        &client,
        Method::PUT,
        &format!("/{index}/_doc/2?refresh=true"),
        Some(json!({"doomed": true})),
    )
    .await?;
    let ops = vec![
        BulkOperation::index(json!({"msg": "line1\nline2", "n": 1}))
            .index_name(index)
            .id("1")
            .key(1),
        BulkOperation::delete("2").key(2),
        BulkOperation::index_raw("{\"pre\":\"serialized\"}")
            .id("3")
            .key(3),
        BulkOperation::update_doc(json!({"n": 2})).id("1").key(4),
    ];
    let (outcomes, _) = drain(
        BulkIngester::builder(client.clone())
            .index(index)
            .ingest(futures::stream::iter(ops)),
    )
    .await;
    let outcomes = one_each(&outcomes, 4);
    let results: Vec<_> = (1..=4)
        .map(|k| outcomes[&k].success().and_then(|s| s.result.clone()))
        .collect();
    assert_eq!(
        results,
        [
            Some("created".to_string()),
            Some("deleted".to_string()),
            Some("created".to_string()),
            Some("updated".to_string())
        ]
    );
    let doc = call(&client, Method::GET, &format!("/{index}/_doc/1"), None).await?;
    assert_eq!(doc["_source"], json!({"msg": "line1\nline2", "n": 2}));
    let doc = call(&client, Method::GET, &format!("/{index}/_doc/3"), None).await?;
    assert_eq!(doc["_source"], json!({"pre": "serialized"}));
    Ok(())
}

/// The flights records as pre-serialized JSON, one per record.
fn flights() -> Result<Vec<Bytes>> {
    let path = FLIGHTS_200K.fetch()?;
    let text = std::fs::read(&path)?;
    let records: Vec<Box<serde_json::value::RawValue>> = serde_json::from_slice(&text)?;
    Ok(records
        .into_iter()
        .map(|r| Bytes::copy_from_slice(r.get().as_bytes()))
        .collect())
}

// The 200,000 flights: count = 200,000 and one outcome per input.
#[tokio::test]
#[ignore = "needs: a running node (cargo xtask es start, or ELASTICSEARCH_URL) and npm to fetch vega-datasets@3.2.1 (data/flights-200k.json) into .cache/data"]
async fn flights_200k_all_indexed_once() -> Result<()> {
    let client = client()?;
    let index = "bulk-flights";
    let records = flights()?;
    assert_eq!(records.len(), 200_000);
    fresh_index(
        &client,
        index,
        json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "30s"}}),
    )
    .await?;
    let ops = records
        .into_iter()
        .enumerate()
        .map(|(n, r)| BulkOperation::index_raw(r).id(n.to_string()).key(n as u32));
    let seen = Arc::new(Mutex::new(vec![0u8; 200_000]));
    let marks = seen.clone();
    let started = Instant::now();
    let ingester = BulkIngester::builder(client.clone())
        .index(index)
        .on_outcome(move |o: &BulkOutcome<u32>| {
            if let Ok(mut marks) = marks.lock() {
                marks[o.key as usize] += 1;
            }
        })
        .build();
    ingester.add_all(futures::stream::iter(ops)).await;
    let stats = ingester.close().await;
    let elapsed = started.elapsed();
    eprintln!(
        "flights: {} docs in {:.1?} = {:.0} docs/s, {} requests, {} retries",
        stats.successes,
        elapsed,
        stats.successes as f64 / elapsed.as_secs_f64(),
        stats.requests,
        stats.retries
    );
    let once = seen
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .iter()
        .all(|&n| n == 1);
    assert!(once, "exactly one outcome per input");
    assert_eq!((stats.successes, stats.failures), (200_000, 0));
    assert_eq!(count(&client, index).await?, 200_000);
    Ok(())
}

// With the write queue made tiny, 429s happen: they are retried, counted, and every
// document is indexed exactly once (version 1).
#[tokio::test]
#[ignore = "needs: a node started with a tiny write queue: cargo xtask es start -E thread_pool.write.size=1 -E thread_pool.write.queue_size=1"]
async fn rejections_are_retried_and_every_document_indexed_once() -> Result<()> {
    let client = client()?;
    let index = "bulk-429-storm";
    fresh_index(
        &client,
        index,
        json!({"settings": {"number_of_shards": 2, "number_of_replicas": 0}}),
    )
    .await?;
    let total = 20_000u32;
    let ops = (0..total).map(|n| {
        BulkOperation::create(json!({"n": n, "pad": "x".repeat(200)}))
            .id(n.to_string())
            .key(n)
    });
    let (outcomes, stats) = drain(
        BulkIngester::builder(client.clone())
            .index(index)
            .max_operations(100)
            .concurrency(4)
            .max_retries(100)
            .backoff(Duration::from_millis(10), Duration::from_secs(1))
            .ingest(futures::stream::iter(ops)),
    )
    .await;
    eprintln!("429 storm: {stats:?}");
    let outcomes = one_each(&outcomes, total as usize);
    let failed: Vec<_> = outcomes
        .values()
        .filter_map(|o| o.failure())
        .take(3)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        outcomes
            .values()
            .all(|o| o.success().and_then(|s| s.version) == Some(1)),
        "every document created exactly once"
    );
    ensure!(
        stats.retries > 0,
        "no 429 happened: is the node started with -E thread_pool.write.queue_size=1?"
    );
    assert_eq!(count(&client, index).await?, u64::from(total));
    Ok(())
}

// Three nodes, one replica, one node SIGKILLed mid-ingest: every operation has an
// outcome and no acknowledged document is missing afterwards. Node-2 is restarted when
// the test ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs: a 3-node cluster from cargo xtask es start --nodes 3 (node-2 is killed; restart it with cargo xtask es restart-node 2)"]
async fn node_killed_mid_ingest_loses_no_acknowledged_document() -> Result<()> {
    let info = local_node::cluster_info()?;
    ensure!(
        info.nodes.len() >= 3,
        "needs 3 nodes, found {}",
        info.nodes.len()
    );
    let transport = elasticsearch_client::transport::Transport::builder()
        .nodes(info.urls())
        .build()?;
    let client = Client::from_transport(transport);
    let index = "bulk-failover";
    fresh_index(
        &client,
        index,
        json!({"settings": {"number_of_shards": 3, "number_of_replicas": 1}}),
    )
    .await?;
    call(
        &client,
        Method::GET,
        &format!("/_cluster/health/{index}?wait_for_status=green&timeout=60s"),
        None,
    )
    .await?;
    let total = 60_000u32;
    let ops = (0..total).map(|n| {
        BulkOperation::index(json!({"n": n}))
            .id(n.to_string())
            .key(n)
    });
    let outcomes = BulkIngester::builder(client.clone())
        .index(index)
        .max_operations(200)
        .concurrency(3)
        .max_retries(20)
        .backoff(Duration::from_millis(100), Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        .ingest(futures::stream::iter(ops));
    let _revive = Revive(2);
    let started = Instant::now();
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tokio::task::spawn_blocking(|| local_node::kill_node(2)).await??;
        anyhow::Ok(started.elapsed())
    });
    let (outcomes, stats) = drain(outcomes).await;
    let killed_at = killer.await??;
    eprintln!("failover: node-2 killed after {killed_at:?}; {stats:?}");
    ensure!(
        killed_at < stats.elapsed,
        "the ingest ended ({:?}) before node-2 was killed ({killed_at:?})",
        stats.elapsed
    );
    let outcomes = one_each(&outcomes, total as usize);
    let acknowledged: HashSet<u32> = outcomes
        .iter()
        .filter(|(_, o)| o.is_success())
        .map(|(k, _)| *k)
        .collect();
    call(&client, Method::POST, &format!("/{index}/_refresh"), None).await?;
    let mut missing = Vec::new();
    for chunk in acknowledged
        .iter()
        .copied()
        .collect::<Vec<_>>()
        .chunks(1000)
    {
        let ids: Vec<String> = chunk.iter().map(u32::to_string).collect();
        let answer = call(
            &client,
            Method::POST,
            &format!("/{index}/_mget?_source=false"),
            Some(json!({ "ids": ids })),
        )
        .await?;
        for doc in answer["docs"].as_array().context("docs")? {
            if doc["found"] != true {
                missing.push(doc["_id"].clone());
            }
        }
    }
    assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
    Ok(())
}
