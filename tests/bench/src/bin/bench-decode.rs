//! Decoding a large search answer: typed models vs `serde_json::Value`.
//!
//! `bench-decode --hits 10000 --iterations N` builds a search answer of `hits`
//! flight documents and decodes it `N` times with each contender, interleaved
//! (A B C D, A B C D, …). Prints the per-decode times in milliseconds as one JSON line.
//!
//! * `value`: `serde_json::from_slice::<serde_json::Value>`;
//! * `typed`: `serde_json::from_slice::<SearchResponse<Flight>>`;
//! * `typed-endpoint`: `SearchRequest::<Flight>::decode`, the path `Client::send` takes;
//! * `typed-value-docs`: `SearchResponse<serde_json::Value>` (typed envelope, untyped documents).

use std::hint::black_box;
use std::time::Instant;

use anyhow::{bail, Result};
use bench::{canned, emit, Args, Flight};
use bytes::Bytes;
use elasticsearch_client::{Endpoint, RawResponse, SearchRequest, SearchResponse};
use serde_json::json;

fn main() -> Result<()> {
    let args = Args::from_env();
    let hits: usize = args.num("hits", 10_000)?;
    let iterations: usize = args.num("iterations", 20)?;
    let body = Bytes::from(canned::search(hits));
    let raw = RawResponse {
        status: http::StatusCode::OK,
        headers: http::HeaderMap::new(),
        body: body.clone(),
    };

    type Decoder = Box<dyn Fn() -> Result<usize>>;
    let value_body = body.clone();
    let typed_body = body.clone();
    let docs_body = body.clone();
    let contenders: Vec<(&str, Decoder)> = vec![
        (
            "value",
            Box::new(move || {
                let v: serde_json::Value = serde_json::from_slice(&value_body)?;
                Ok(v["hits"]["hits"].as_array().map_or(0, Vec::len))
            }),
        ),
        (
            "typed",
            Box::new(move || {
                let r: SearchResponse<Flight> = serde_json::from_slice(&typed_body)?;
                Ok(r.hits.hits.len())
            }),
        ),
        (
            "typed-endpoint",
            Box::new(move || {
                let r = <SearchRequest<Flight> as Endpoint>::decode(raw.clone(), &[])?;
                Ok(r.hits.hits.len())
            }),
        ),
        (
            "typed-value-docs",
            Box::new(move || {
                let r: SearchResponse<serde_json::Value> = serde_json::from_slice(&docs_body)?;
                Ok(r.hits.hits.len())
            }),
        ),
    ];

    // One untimed round checks every decoder and warms caches.
    for (name, decode) in &contenders {
        let n = decode()?;
        if n != hits {
            bail!("{name} decoded {n} hits, expected {hits}");
        }
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(iterations); contenders.len()];
    for _ in 0..iterations {
        for (i, (_, decode)) in contenders.iter().enumerate() {
            let started = Instant::now();
            black_box(decode()?);
            samples[i].push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let results: serde_json::Map<String, serde_json::Value> = contenders
        .iter()
        .zip(samples)
        .map(|((name, _), s)| (name.to_string(), json!(s)))
        .collect();
    emit(&json!({
        "hits": hits,
        "body_bytes": body.len(),
        "iterations": iterations,
        "ms": results,
    }));
    Ok(())
}
