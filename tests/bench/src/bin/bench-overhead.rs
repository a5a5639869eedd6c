//! Client overhead against the canned-response server (`bench-server`).
//!
//! `bench-overhead --url URL --contender hyper|ours|ours-typed --request info|search
//! --concurrency N --seconds S [--warmup S]` runs `N` callers in a loop for `S`
//! seconds and prints requests/s and CPU per request as one JSON line.
//!
//! * `hyper`: a bare hyper-util pooled client reading the body into bytes (the limit);
//! * `ours`: the full client stack (`Client::request`), body as bytes, not decoded;
//! * `ours-typed`: the generated endpoints (`InfoRequest`, `SearchRequest<Flight>`),
//!   decoded into their typed responses.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bench::{canned, cpu_time, emit, Args, Flight};
use bytes::Bytes;
use elasticsearch_client::{CallOptions, Client, InfoRequest, RequestBody, SearchRequest};
use http::Method;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

const SEARCH_BODY: &[u8] = br#"{"query":{"match_all":{}},"size":105}"#;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Req {
    Info,
    Search,
}

/// Built once per run and cloned into each caller, so its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Contender {
    Hyper(
        HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
        String,
    ),
    Ours(Client),
    OursTyped(Client),
}

impl Contender {
    /// One request; returns the number of body bytes received.
    async fn call(&self, req: Req) -> Result<usize> {
        match self {
            Contender::Hyper(client, base) => {
                let (method, path, body) = match req {
                    Req::Info => (Method::GET, canned::INFO_PATH, Bytes::new()),
                    Req::Search => (
                        Method::POST,
                        canned::SEARCH_PATH,
                        Bytes::from_static(SEARCH_BODY),
                    ),
                };
                let mut builder = http::Request::builder()
                    .method(method)
                    .uri(format!("{base}{path}"));
                if req == Req::Search {
                    builder = builder.header("content-type", "application/json");
                }
                let response = client.request(builder.body(Full::new(body))?).await?;
                if !response.status().is_success() {
                    bail!("status {}", response.status());
                }
                let bytes = response.into_body().collect().await?.to_bytes();
                Ok(bytes.len())
            }
            Contender::Ours(client) => {
                let options = CallOptions::default();
                let response = match req {
                    Req::Info => {
                        client
                            .request(Method::GET, canned::INFO_PATH, None, &options)
                            .await?
                    }
                    Req::Search => {
                        let body = RequestBody::Json(Bytes::from_static(SEARCH_BODY));
                        client
                            .request(Method::POST, canned::SEARCH_PATH, Some(body), &options)
                            .await?
                    }
                };
                if !response.is_success() {
                    bail!("status {}", response.status);
                }
                Ok(response.body.len())
            }
            Contender::OursTyped(client) => match req {
                Req::Info => {
                    let _info = client.send(InfoRequest::new()).await?;
                    Ok(1)
                }
                Req::Search => {
                    let response = client
                        .send(
                            SearchRequest::new()
                                .index("bench")
                                .with_document::<Flight>(),
                        )
                        .await?;
                    Ok(response.hits.hits.len())
                }
            },
        }
    }
}

fn main() -> Result<()> {
    let args = Args::from_env();
    let url = args.req("url")?.trim_end_matches('/').to_string();
    let req = match args.req("request")? {
        "info" => Req::Info,
        "search" => Req::Search,
        other => bail!("unknown --request {other}"),
    };
    let concurrency: usize = args.num("concurrency", 1)?;
    let seconds: f64 = args.num("seconds", 3.0)?;
    let warmup: f64 = args.num("warmup", 0.5)?;
    let name = args.req("contender")?.to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let contender = match name.as_str() {
            "hyper" => Contender::Hyper(
                HyperClient::builder(TokioExecutor::new()).build_http(),
                url.clone(),
            ),
            "ours" => Contender::Ours(Client::new(&url).context("building the client")?),
            "ours-typed" => Contender::OursTyped(Client::new(&url).context("building the client")?),
            other => bail!("unknown --contender {other}"),
        };
        run(&contender, req, concurrency, warmup, seconds).await
    })?;
    emit(&json!({
        "contender": name,
        "request": args.req("request")?,
        "concurrency": concurrency,
        "requests": result.requests,
        "errors": result.errors,
        "seconds": result.elapsed,
        "rps": result.requests as f64 / result.elapsed,
        "cpu_seconds": result.cpu,
        "cpu_us_per_request": result.cpu * 1e6 / (result.requests.max(1) as f64),
    }));
    Ok(())
}

struct Outcome {
    requests: u64,
    errors: u64,
    elapsed: f64,
    cpu: f64,
}

async fn run(
    contender: &Contender,
    req: Req,
    concurrency: usize,
    warmup: f64,
    seconds: f64,
) -> Result<Outcome> {
    // A first call checks that the contender works at all.
    contender.call(req).await.context("first request")?;
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (contender, counting, stop, requests, errors) = (
            contender.clone(),
            counting.clone(),
            stop.clone(),
            requests.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ok = contender.call(req).await.is_ok();
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
    let cpu = (cpu_time() - cpu_start).as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    Ok(Outcome {
        requests: requests.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        cpu,
    })
}
