//! Bulk ingestion into a real node with the client's bulk ingester.
//!
//! * `bench-bulk prepare --url URL --index I`: deletes and creates the index
//!   (1 shard, no replicas);
//! * `bench-bulk ingest --url URL --index I --file F.ndjson [--docs N] [--repeat R]`:
//!   indexes the first `N` lines of `F` (one JSON document per line), `R` times with
//!   new ids, streaming the file so memory stays the ingester's; prints docs/s, CPU
//!   seconds and peak RSS as one JSON line;
//! * `bench-bulk count --url URL --index I`: refreshes and prints the document count;
//! * `bench-bulk delete --url URL --index I`: deletes the index.

use std::io::BufRead;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use bench::{cpu_time, emit, peak_rss_kib, Args};
use bytes::Bytes;
use elasticsearch_client::helpers::bulk::{BulkIngester, BulkOperation};
use elasticsearch_client::{CallOptions, Client, RequestBody};
use http::Method;
use serde_json::json;

fn main() -> Result<()> {
    let args = Args::from_env();
    let url = args.req("url")?.to_string();
    let index = args.req("index")?.to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = Client::new(&url).context("building the client")?;
    runtime.block_on(async {
        match args.mode() {
            Some("prepare") => prepare(&client, &index).await,
            Some("ingest") => ingest(&client, &index, &args).await,
            Some("count") => count(&client, &index).await,
            Some("delete") => delete(&client, &index).await,
            other => bail!("unknown mode {other:?}: prepare, ingest, count or delete"),
        }
    })
}

async fn call(client: &Client, method: Method, path: &str, body: Option<&str>) -> Result<Bytes> {
    let options = CallOptions::default().ignore(404);
    let body = body.map(|b| RequestBody::Json(Bytes::copy_from_slice(b.as_bytes())));
    let response = client.request(method.clone(), path, body, &options).await?;
    if !(response.is_success() || method == Method::DELETE && response.status == 404) {
        bail!(
            "{method} {path}: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    Ok(response.body)
}

async fn prepare(client: &Client, index: &str) -> Result<()> {
    call(client, Method::DELETE, &format!("/{index}"), None).await?;
    let settings = r#"{"settings":{"number_of_shards":1,"number_of_replicas":0}}"#;
    call(client, Method::PUT, &format!("/{index}"), Some(settings)).await?;
    emit(&json!({"prepared": index}));
    Ok(())
}

async fn delete(client: &Client, index: &str) -> Result<()> {
    call(client, Method::DELETE, &format!("/{index}"), None).await?;
    emit(&json!({"deleted": index}));
    Ok(())
}

async fn count(client: &Client, index: &str) -> Result<()> {
    call(client, Method::POST, &format!("/{index}/_refresh"), None).await?;
    let body = call(client, Method::GET, &format!("/{index}/_count"), None).await?;
    let value: serde_json::Value = serde_json::from_slice(&body)?;
    let Some(count) = value["count"].as_u64() else {
        bail!("no count in {value}");
    };
    emit(&json!({"index": index, "count": count}));
    Ok(())
}

async fn ingest(client: &Client, index: &str, args: &Args) -> Result<()> {
    let file = args.req("file")?;
    let docs: usize = args.num("docs", usize::MAX)?;
    let repeat: usize = args.num("repeat", 1)?;
    let cpu_start = cpu_time();
    let started = Instant::now();
    // The ingester's defaults unless a run asks otherwise (to compare settings).
    let mut builder = BulkIngester::builder::<()>(client.clone()).index(index);
    if let Some(n) = args.opt("concurrency") {
        builder = builder.concurrency(n.parse().context("--concurrency")?);
    }
    if let Some(n) = args.opt("max-operations") {
        builder = builder.max_operations(n.parse().context("--max-operations")?);
    }
    if let Some(n) = args.opt("max-bytes") {
        builder = builder.max_bytes(n.parse().context("--max-bytes")?);
    }
    let ingester = builder.build();
    let mut sent = 0u64;
    for round in 0..repeat {
        let reader = std::io::BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(file).with_context(|| format!("opening {file}"))?,
        );
        for (i, line) in reader.lines().take(docs).enumerate() {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            let op = BulkOperation::index_raw(line).id(format!("{round}-{i}"));
            ingester.add(op).await;
            sent += 1;
        }
    }
    let stats = ingester.close().await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (cpu_time() - cpu_start).as_secs_f64();
    emit(&json!({
        "contender": "ours",
        "docs": sent,
        "successes": stats.successes,
        "failures": stats.failures,
        "retries": stats.retries,
        "requests": stats.requests,
        "seconds": elapsed,
        "docs_per_second": sent as f64 / elapsed,
        "cpu_seconds": cpu,
        "peak_rss_kib": peak_rss_kib(),
    }));
    Ok(())
}
