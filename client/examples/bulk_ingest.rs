//! Bulk-ingests a JSON file (an array of objects, or NDJSON) with the bulk ingester
//! and reports throughput, client CPU time and peak memory.
//!
//! ```text
//! cargo run --release -p elasticsearch-client --example bulk_ingest -- \
//!     --url http://127.0.0.1:9200 --index flights \
//!     --file .cache/data/vega-datasets-3.2.1/data_flights-200k.json [--repeat 15] \
//!     [--batch 1000] [--bytes 5242880] [--concurrency 2] [--no-ids] [--dead-letter failed.ndjson]
//! ```
//!
//! Each record gets the id `<round>-<position>`, so `--repeat N` ingests N distinct
//! copies of the file (N × records documents) while holding the file once.
//! (`cargo test -p integration-tests --test bulk -- --ignored flights` fetches and
//! verifies the flights file.)

use std::io::BufWriter;
use std::time::{Duration, Instant};

use bytes::Bytes;
use elasticsearch_client::helpers::bulk::{BulkIngester, BulkOperation, BulkStats};
use elasticsearch_client::{CallOptions, Client, RequestBody};

struct Args {
    url: String,
    index: String,
    file: String,
    repeat: usize,
    batch: usize,
    bytes: usize,
    concurrency: usize,
    ids: bool,
    dead_letter: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: std::env::var("ELASTICSEARCH_URL").unwrap_or_else(|_| "http://127.0.0.1:9200".into()),
        index: "bulk-ingest".into(),
        file: String::new(),
        repeat: 1,
        batch: 1000,
        bytes: 5 * 1024 * 1024,
        concurrency: 2,
        ids: true,
        dead_letter: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--index" => args.index = value()?,
            "--file" => args.file = value()?,
            "--repeat" => args.repeat = number(value()?)?,
            "--batch" => args.batch = number(value()?)?,
            "--bytes" => args.bytes = number(value()?)?,
            "--concurrency" => args.concurrency = number(value()?)?,
            "--dead-letter" => args.dead_letter = Some(value()?),
            "--no-ids" => args.ids = false,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.file.is_empty() {
        return Err("--file is required".into());
    }
    Ok(args)
}

/// The records of the file, each as compact JSON bytes.
fn records(path: &str) -> Result<Vec<Bytes>, Box<dyn std::error::Error>> {
    let text = std::fs::read(path)?;
    let first = text.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'[') {
        let records: Vec<Box<serde_json::value::RawValue>> = serde_json::from_slice(&text)?;
        Ok(records
            .iter()
            .map(|r| Bytes::copy_from_slice(r.get().as_bytes()))
            .collect())
    } else {
        Ok(text
            .split(|&b| b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .map(Bytes::copy_from_slice)
            .collect())
    }
}

/// Peak resident set size (kB) and user+system CPU time of this process (Linux).
fn process_usage() -> (Option<u64>, Option<Duration>) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        });
    let cpu = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks: u64 =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(Duration::from_millis(ticks * 10))
        });
    (rss, cpu)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args().map_err(|e| {
        format!("{e}\nusage: see the comment at the top of examples/bulk_ingest.rs")
    })?;
    let records = records(&args.file)?;
    let total = records.len() * args.repeat;
    eprintln!(
        "{} records × {} = {total} documents → {}/{}",
        records.len(),
        args.repeat,
        args.url,
        args.index
    );

    let client = Client::new(&args.url)?;
    // A fresh index without replicas, refreshed at the end only.
    let _ = client
        .request(
            http::Method::DELETE,
            &format!("/{}", args.index),
            None,
            &CallOptions::default(),
        )
        .await?;
    let settings =
        r#"{"settings":{"number_of_shards":1,"number_of_replicas":0,"refresh_interval":"-1"}}"#;
    let created = client
        .request(
            http::Method::PUT,
            &format!("/{}", args.index),
            Some(RequestBody::Json(Bytes::from_static(settings.as_bytes()))),
            &CallOptions::default(),
        )
        .await?;
    if !created.is_success() {
        return Err(format!(
            "creating the index: HTTP {}: {}",
            created.status,
            String::from_utf8_lossy(&created.body)
        )
        .into());
    }

    let started = Instant::now();
    let mut builder = BulkIngester::builder(client.clone())
        .index(&args.index)
        .max_operations(args.batch)
        .max_bytes(args.bytes)
        .concurrency(args.concurrency)
        .on_progress({
            let last = std::sync::Mutex::new(Instant::now());
            move |stats: &BulkStats| {
                let Ok(mut last) = last.lock() else { return };
                if last.elapsed() >= Duration::from_secs(2) {
                    *last = Instant::now();
                    eprintln!(
                        "  {:>9} done  {:>8.0} docs/s  {} retries  {} failed",
                        stats.completed(),
                        stats.completed() as f64 / stats.elapsed.as_secs_f64(),
                        stats.retries,
                        stats.failures
                    );
                }
            }
        });
    if let Some(path) = &args.dead_letter {
        builder = builder.dead_letter(BufWriter::new(std::fs::File::create(path)?));
    }
    let ingester = builder.build();
    for round in 0..args.repeat {
        for (n, record) in records.iter().enumerate() {
            let op = BulkOperation::index_raw(record.clone());
            let op = if args.ids {
                op.id(format!("{round}-{n}"))
            } else {
                op
            };
            ingester.add(op).await;
        }
    }
    let stats = ingester.close().await;
    let elapsed = started.elapsed();
    let (rss, cpu) = process_usage();

    let _ = client
        .request(
            http::Method::POST,
            &format!("/{}/_refresh", args.index),
            None,
            &CallOptions::default(),
        )
        .await?;
    let count = client
        .request(
            http::Method::GET,
            &format!("/{}/_count", args.index),
            None,
            &CallOptions::default(),
        )
        .await?;
    let count: serde_json::Value = serde_json::from_slice(&count.body)?;

    println!("documents      {total}");
    println!("succeeded      {}", stats.successes);
    println!("failed         {}", stats.failures);
    println!("index count    {}", count["count"]);
    println!("requests       {}", stats.requests);
    println!("retries        {}", stats.retries);
    println!("bytes          {}", stats.bytes);
    println!("elapsed        {:.2?}", elapsed);
    println!(
        "docs/s         {:.0}",
        stats.successes as f64 / elapsed.as_secs_f64()
    );
    if let Some(cpu) = cpu {
        println!(
            "client cpu     {:.2?} ({:.0}% of one core)",
            cpu,
            100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64()
        );
    }
    if let Some(rss) = rss {
        println!("peak rss       {:.1} MB", rss as f64 / 1024.0);
    }
    if stats.failures > 0 {
        std::process::exit(1);
    }
    Ok(())
}
