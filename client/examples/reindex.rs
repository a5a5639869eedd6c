//! Copies one index into another (possibly on another cluster) with the reindex
//! helper, adding a field to every document.
//!
//! ```text
//! cargo run -p elasticsearch-client --example reindex -- SOURCE_URL SOURCE_INDEX TARGET_URL TARGET_INDEX
//! ```

use elasticsearch_client::helpers::reindex::Reindex;
use elasticsearch_client::Client;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source_url, source_index, target_url, target_index] = args.as_slice() else {
        return Err("usage: reindex SOURCE_URL SOURCE_INDEX TARGET_URL TARGET_INDEX".into());
    };
    let report = Reindex::new(Client::new(source_url)?, source_index, target_index)
        .target_client(Client::new(target_url)?)
        .transform(|hit| {
            let mut doc = hit.source?;
            doc["reindexed_from"] = json!(hit.index);
            Some(doc)
        })
        .configure_scan(|scan| scan.size(2000).sliced_point_in_time(2))
        .run()
        .await?;
    println!(
        "scanned {}, indexed {}, skipped {}, failed {} ({} requests, {} retries, {:.2?})",
        report.scanned,
        report.indexed,
        report.skipped,
        report.failed,
        report.bulk.requests,
        report.bulk.retries,
        report.bulk.elapsed
    );
    for failure in &report.failures {
        eprintln!("failed: {} {}", failure.error_type, failure.reason);
    }
    Ok(())
}
