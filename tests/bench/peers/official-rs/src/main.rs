//! Client overhead of the official Rust client (crate `elasticsearch`) against the
//! canned-response server, for `cargo xtask bench`. Same arguments and output as
//! `bench-overhead` in the `bench` crate:
//!
//!     official-rs-bench --url URL --request info|search --concurrency N --seconds S [--warmup S]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use elasticsearch::http::transport::Transport;
use elasticsearch::{Elasticsearch, SearchParts};

const SEARCH_BODY: &[u8] = br#"{"query":{"match_all":{}},"size":105}"#;

/// The search body as pre-serialized JSON, so the client does not serialize it.
fn search_body() -> Box<serde_json::value::RawValue> {
    serde_json::value::RawValue::from_string(String::from_utf8_lossy(SEARCH_BODY).into_owned())
        .expect("the search body is valid JSON")
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn arg(name: &str) -> Option<String> {
    let flag = format!("--{name}");
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

fn cpu_time() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> u64 { fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0) };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

async fn call(client: &Elasticsearch, search: bool) -> Result<usize, BoxError> {
    let response = if search {
        client
            .search(SearchParts::Index(&["bench"]))
            .body(search_body())
            .send()
            .await?
    } else {
        client.info().send().await?
    };
    if !response.status_code().is_success() {
        return Err(format!("status {}", response.status_code()).into());
    }
    Ok(response.bytes().await?.len())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url = arg("url").ok_or("missing --url")?;
    let request = arg("request").ok_or("missing --request")?;
    let search = match request.as_str() {
        "info" => false,
        "search" => true,
        other => return Err(format!("unknown --request {other}").into()),
    };
    let concurrency: usize = arg("concurrency").map_or(Ok(1), |v| v.parse())?;
    let seconds: f64 = arg("seconds").map_or(Ok(3.0), |v| v.parse())?;
    let warmup: f64 = arg("warmup").map_or(Ok(0.5), |v| v.parse())?;

    let client = Elasticsearch::new(Transport::single_node(&url)?);
    call(&client, search).await?;
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, counting, stop, requests, errors) = (
            client.clone(),
            counting.clone(),
            stop.clone(),
            requests.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ok = call(&client, search).await.is_ok();
                if counting.load(Ordering::Relaxed) {
                    if ok {
                        requests.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
    let cpu_start = cpu_time();
    let started = Instant::now();
    counting.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    counting.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_time() - cpu_start;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let n = requests.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "contender": "official",
            "request": request,
            "concurrency": concurrency,
            "requests": n,
            "errors": errors.load(Ordering::Relaxed),
            "seconds": elapsed,
            "rps": n as f64 / elapsed,
            "cpu_seconds": cpu,
            "cpu_us_per_request": cpu * 1e6 / (n.max(1) as f64),
        })
    );
    Ok(())
}
