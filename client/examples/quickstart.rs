//! Connect, index a document with id 42 that holds a timestamp, get it back with the
//! timestamp as a date-time value, and search.
//!
//! Run against a node: `cargo run -p elasticsearch-client --example quickstart`
//! (`ELASTICSEARCH_URL` overrides `http://127.0.0.1:9200`).

use elasticsearch_client::indices::RefreshRequest;
use elasticsearch_client::runtime::SingleKey;
use elasticsearch_client::types::query_dsl::{MatchQuery, Query};
use elasticsearch_client::{Client, GetRequest, IndexRequest, SearchRequest};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Serialize, Deserialize)]
struct Tweet {
    user: String,
    message: String,
    #[serde(with = "time::serde::rfc3339")]
    posted_at: OffsetDateTime,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("ELASTICSEARCH_URL").unwrap_or_else(|_| "http://127.0.0.1:9200".into());
    let client = Client::new(&url)?;

    // Index a document with id 42.
    let tweet = Tweet {
        user: "kimchy".into(),
        message: "trying out the Rust client".into(),
        posted_at: OffsetDateTime::now_utc().replace_nanosecond(0)?,
    };
    let indexed = client
        .send(IndexRequest::new("tweets", &tweet).id("42"))
        .await?;
    println!("indexed tweets/{} ({:?})", indexed.id, indexed.result);

    // Get it back, typed: the timestamp is a date-time again.
    let got = client
        .send(GetRequest::new("tweets", "42").with_document::<Tweet>())
        .await?;
    let stored = got.source.ok_or("document 42 has no source")?;
    println!("got {} posted at {}", stored.user, stored.posted_at);
    assert_eq!(stored.posted_at, tweet.posted_at);

    // Make it searchable now, then search.
    client.send(RefreshRequest::new().index("tweets")).await?;
    let found = client
        .send(
            SearchRequest::new()
                .with_document::<Tweet>()
                .index("tweets")
                .query(Query::Match(SingleKey::new(
                    "message",
                    MatchQuery::new("rust"),
                ))),
        )
        .await?;
    for hit in &found.hits.hits {
        if let Some(tweet) = &hit.source {
            println!("hit {:?}: {}", hit.id, tweet.message);
        }
    }
    Ok(())
}
