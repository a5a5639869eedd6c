//! Reads every document of an index with the scan helper and prints a summary.
//!
//! ```text
//! cargo run -p elasticsearch-client --example scan -- [URL] [INDEX] [scroll|pit|pit:N]
//! ```

use std::time::Instant;

use elasticsearch_client::helpers::scan::Scan;
use elasticsearch_client::Client;
use futures::StreamExt;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:9200".into());
    let index = args.next().unwrap_or_else(|| "bulk-ingest".into());
    let mode = args.next().unwrap_or_else(|| "scroll".into());

    let scan = Scan::new(Client::new(&url)?).index(&index).size(1000);
    let scan = match mode.split_once(':') {
        Some(("pit", n)) => scan.sliced_point_in_time(n.parse()?),
        _ if mode == "pit" => scan.point_in_time(),
        _ => scan,
    };
    let started = Instant::now();
    let mut hits = scan.hits::<Value>();
    let (mut count, mut bytes) = (0u64, 0usize);
    while let Some(hit) = hits.next().await {
        let hit = hit?;
        count += 1;
        bytes += hit.source.map(|s| s.to_string().len()).unwrap_or(0);
    }
    let elapsed = started.elapsed();
    println!(
        "{count} hits ({bytes} source bytes) from {index} by {mode} in {elapsed:.2?} = {:.0} hits/s",
        count as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
