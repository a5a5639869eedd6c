//! The reindex helper against a real node.

use anyhow::{ensure, Result};
use elasticsearch_client::helpers::bulk::{BulkIngester, BulkOperation};
use elasticsearch_client::helpers::reindex::Reindex;
use elasticsearch_client::{CallOptions, Client, RequestBody};
use futures::StreamExt;
use http::Method;
use integration_tests::client;
use serde_json::{json, Value};

async fn call(client: &Client, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
    let body = body.map(|b| RequestBody::Json(b.to_string().into()));
    let response = client
        .request(method.clone(), path, body, &CallOptions::default())
        .await?;
    let text = String::from_utf8_lossy(&response.body).to_string();
    ensure!(
        response.status.is_success(),
        "{method} {path}: {} {text}",
        response.status
    );
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn delete(client: &Client, path: &str) -> Result<()> {
    client
        .request(Method::DELETE, path, None, &CallOptions::default())
        .await?;
    Ok(())
}

async fn count(client: &Client, index: &str) -> Result<u64> {
    call(client, Method::POST, &format!("/{index}/_refresh"), None).await?;
    let answer = call(client, Method::GET, &format!("/{index}/_count"), None).await?;
    Ok(answer["count"].as_u64().unwrap_or(0))
}

async fn fill(client: &Client, index: &str, docs: u32) -> Result<()> {
    delete(client, &format!("/{index}")).await?;
    let outcomes: Vec<_> = BulkIngester::builder(client.clone())
        .index(index)
        .refresh("wait_for")
        .ingest(futures::stream::iter((0..docs).map(|n| {
            BulkOperation::index(json!({"n": n, "@timestamp": "2026-12-01T00:00:00Z"}))
                .id(format!("d{n}"))
                .routing(format!("r{}", n % 3))
        })))
        .collect()
        .await;
    ensure!(outcomes.iter().all(|o| o.is_success()), "fill failed");
    Ok(())
}

#[tokio::test]
async fn copies_transforms_and_keeps_ids_and_routing() -> Result<()> {
    let client = client()?;
    fill(&client, "reindex-src", 1000).await?;
    delete(&client, "/reindex-dst").await?;
    let report = Reindex::new(client.clone(), "reindex-src", "reindex-dst")
        .query(json!({"range": {"n": {"lt": 800}}}))
        .transform(|hit| {
            let mut doc = hit.source?;
            if doc["n"].as_u64()? % 2 == 1 {
                return None;
            }
            doc["copied"] = json!(true);
            Some(doc)
        })
        .configure_scan(|scan| scan.size(128))
        .configure_bulk(|bulk| bulk.max_operations(100))
        .run()
        .await?;
    assert_eq!(
        (
            report.scanned,
            report.skipped,
            report.indexed,
            report.failed
        ),
        (800, 400, 400, 0)
    );
    assert_eq!(count(&client, "reindex-dst").await?, 400);
    let doc = call(
        &client,
        Method::GET,
        "/reindex-dst/_doc/d10?routing=r1",
        None,
    )
    .await?;
    assert_eq!(doc["_source"]["copied"], true);
    assert_eq!(doc["_routing"], "r1");
    Ok(())
}

#[tokio::test]
async fn data_streams_take_create_only() -> Result<()> {
    let client = client()?;
    fill(&client, "reindex-ds-src", 300).await?;
    // A fresh name each run: the local node build may lack the data stream REST
    // API, so an old stream cannot always be deleted.
    let stream = format!(
        "reindex-stream-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    call(
        &client,
        Method::PUT,
        "/_index_template/reindex-stream-template",
        Some(json!({"index_patterns": ["reindex-stream-*"], "data_stream": {"allow_custom_routing": true}, "priority": 500})),
    )
    .await?;
    let refused = Reindex::new(client.clone(), "reindex-ds-src", &stream)
        .run()
        .await?;
    assert_eq!((refused.indexed, refused.failed), (0, 300));
    assert_eq!(refused.failures.len(), 100, "the first 100 kept in full");
    assert_eq!(refused.failures[0].status, Some(400));
    assert!(
        refused.failures[0].reason.contains("op_type"),
        "{}",
        refused.failures[0].reason
    );
    let report = Reindex::new(client.clone(), "reindex-ds-src", &stream)
        .op_type_create(true)
        .run()
        .await?;
    assert!(report.failures.is_empty(), "{:?}", report.failures.first());
    assert_eq!(
        (report.scanned, report.indexed, report.failed),
        (300, 300, 0)
    );
    assert_eq!(count(&client, &stream).await?, 300);
    delete(&client, &format!("/_data_stream/{stream}")).await?;
    delete(&client, "/_index_template/reindex-stream-template").await?;
    Ok(())
}
