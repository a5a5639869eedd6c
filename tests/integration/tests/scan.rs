//! The scan helper against a real node: exactly N hits for N documents in every mode,
//! and no search context left open when the stream is dropped early.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use elasticsearch_client::helpers::bulk::{BulkIngester, BulkOperation};
use elasticsearch_client::helpers::scan::{Hit, Scan};
use elasticsearch_client::{CallOptions, Client};
use futures::StreamExt;
use http::Method;
use integration_tests::client;
use serde::Deserialize;
use serde_json::{json, Value};

/// The tests count the node's open search contexts: one at a time.
static NODE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const INDEX: &str = "scan-docs";
const DOCS: u32 = 2_345;

#[derive(Debug, Deserialize)]
struct Doc {
    n: u32,
}

async fn get(client: &Client, path: &str) -> Result<Value> {
    let response = client
        .request(Method::GET, path, None, &CallOptions::default())
        .await?;
    ensure!(
        response.status.is_success(),
        "GET {path}: {}",
        response.status
    );
    Ok(serde_json::from_slice(&response.body)?)
}

/// A fresh index with DOCS documents over 3 shards.
async fn setup(client: &Client) -> Result<()> {
    let opts = CallOptions::default();
    client
        .request(Method::DELETE, &format!("/{INDEX}"), None, &opts)
        .await?;
    let body = json!({"settings": {"number_of_shards": 3, "number_of_replicas": 0}});
    let created = client
        .request(
            Method::PUT,
            &format!("/{INDEX}"),
            Some(elasticsearch_client::RequestBody::Json(
                body.to_string().into(),
            )),
            &opts,
        )
        .await?;
    ensure!(created.is_success(), "create: {}", created.status);
    let outcomes = BulkIngester::builder(client.clone())
        .index(INDEX)
        .refresh("wait_for")
        .ingest(futures::stream::iter((0..DOCS).map(|n| {
            BulkOperation::index(json!({ "n": n })).id(n.to_string())
        })))
        .collect::<Vec<_>>()
        .await;
    ensure!(outcomes.iter().all(|o| o.is_success()), "indexing failed");
    Ok(())
}

async fn open_contexts(client: &Client) -> Result<u64> {
    let stats = get(client, "/_nodes/stats/indices/search").await?;
    let nodes = stats["nodes"].as_object().context("nodes")?;
    Ok(nodes
        .values()
        .map(|n| {
            n["indices"]["search"]["open_contexts"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum())
}

/// Waits (up to 10 s) for the open contexts to drop to zero.
async fn contexts_drain(client: &Client) -> Result<u64> {
    let mut open = open_contexts(client).await?;
    for _ in 0..100 {
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        open = open_contexts(client).await?;
    }
    Ok(open)
}

async fn all_hits(scan: Scan) -> Result<Vec<Hit<Doc>>> {
    let mut hits = Vec::new();
    let mut stream = scan.hits::<Doc>();
    while let Some(hit) = stream.next().await {
        hits.push(hit?);
    }
    Ok(hits)
}

fn check_exactly_all(hits: &[Hit<Doc>]) {
    assert_eq!(hits.len(), DOCS as usize);
    let seen: HashSet<u32> = hits
        .iter()
        .map(|h| h.source.as_ref().expect("source").n)
        .collect();
    assert_eq!(seen.len(), DOCS as usize, "no duplicates");
}

#[tokio::test]
async fn every_mode_returns_exactly_n_hits_and_releases_its_context() -> Result<()> {
    let _node = NODE.lock().await;
    let client = client()?;
    setup(&client).await?;
    let base = || {
        Scan::new(client.clone())
            .index(INDEX)
            .size(500)
            .keep_alive("1m")
    };

    check_exactly_all(&all_hits(base()).await?);
    assert_eq!(contexts_drain(&client).await?, 0, "scroll cleared");
    check_exactly_all(&all_hits(base().point_in_time()).await?);
    assert_eq!(contexts_drain(&client).await?, 0, "point in time closed");
    check_exactly_all(&all_hits(base().sliced_point_in_time(3)).await?);
    assert_eq!(
        contexts_drain(&client).await?,
        0,
        "sliced point in time closed"
    );
    Ok(())
}

#[tokio::test]
async fn dropping_the_stream_after_the_first_page_leaves_no_open_context() -> Result<()> {
    let _node = NODE.lock().await;
    let client = client()?;
    setup(&client).await?;
    for (mode, scan) in [
        ("scroll", Scan::new(client.clone())),
        ("point in time", Scan::new(client.clone()).point_in_time()),
        (
            "sliced point in time",
            Scan::new(client.clone()).sliced_point_in_time(2),
        ),
    ] {
        let mut hits = scan.index(INDEX).size(100).keep_alive("5m").hits::<Doc>();
        for _ in 0..100 {
            hits.next().await.context("a hit")??;
        }
        assert!(
            open_contexts(&client).await? > 0,
            "{mode}: a context is open"
        );
        drop(hits);
        assert_eq!(
            contexts_drain(&client).await?,
            0,
            "{mode}: released after the drop"
        );
    }
    Ok(())
}
