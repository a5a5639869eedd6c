//! Loads the `vega-datasets` movies into an index and queries them: full-text search
//! with highlighting, a filtered range query, a terms aggregation with an average,
//! a get by id and a count.
//!
//! `cargo xtask demo` fetches the dataset, starts a local node when needed and runs
//! this program; it can also be run directly:
//! `cargo run -p elasticsearch-client --example demo -- --url URL --data movies.json`.

use std::collections::HashMap;
use std::process::ExitCode;

use elasticsearch_client::indices::{CreateRequest, DeleteRequest, RefreshRequest};
use elasticsearch_client::runtime::{BulkOperation, SingleKey};
use elasticsearch_client::transport::Error as TransportError;
use elasticsearch_client::types::aggregations::{
    Aggregate, AggregationContainer, AverageAggregation, Buckets, TermsAggregation,
};
use elasticsearch_client::types::mapping::{
    DateProperty, DoubleNumberProperty, KeywordProperty, LongNumberProperty, Property,
    TextProperty, TypeMapping,
};
use elasticsearch_client::types::query_dsl::{
    BoolQuery, DateRangeQuery, MatchQuery, NumberRangeQuery, Query, RangeQuery,
};
use elasticsearch_client::types::{FieldSort, SortOptions, SortOrder};
use elasticsearch_client::{
    BulkRequest, Client, CountRequest, Error, GetRequest, InfoRequest, SearchRequest,
};
use serde_json::Value;

const INDEX: &str = "movies";
const BATCH: usize = 500;

struct Args {
    url: String,
    data: String,
}

fn parse_args() -> Result<Args, String> {
    let mut url = std::env::var("ELASTICSEARCH_URL").ok();
    let mut data = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next(),
            "--data" => data = args.next(),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Args {
        url: url.unwrap_or_else(|| "http://127.0.0.1:9200".to_string()),
        data: data.ok_or("missing --data <movies.json>")?,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Describes a failed call in one line, naming the URL (without its credentials) for
/// transport failures.
fn describe(url: &str, error: &Error) -> String {
    let Some(transport) = error.transport_error() else {
        return error.to_string();
    };
    let url = elasticsearch_client::transport::redact_url(url);
    if matches!(
        transport,
        TransportError::InvalidUrl { .. } | TransportError::Config { .. }
    ) {
        return format!("cannot use {url}: {transport}");
    }
    // The innermost cause of the last attempt says what actually went wrong.
    let last = transport
        .attempts()
        .last()
        .map(|a| &a.error)
        .unwrap_or(transport);
    let mut cause: &dyn std::error::Error = last;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let attempts = transport.attempts().len().max(1);
    format!("cannot reach Elasticsearch at {url}: {cause} ({attempts} attempt(s))")
}

fn mapping() -> TypeMapping {
    let text = || Property::from(TextProperty::new());
    let keyword = || Property::from(KeywordProperty::new());
    let long = || Property::from(LongNumberProperty::new());
    let mut properties: HashMap<String, Property> = HashMap::new();
    properties.insert("Title".into(), text());
    properties.insert("Director".into(), text());
    properties.insert("Distributor".into(), keyword());
    properties.insert("Source".into(), keyword());
    properties.insert("Major Genre".into(), keyword());
    properties.insert("Creative Type".into(), keyword());
    properties.insert("MPAA Rating".into(), keyword());
    properties.insert(
        "Release Date".into(),
        DateProperty::new().format("MMM dd yyyy").into(),
    );
    for field in [
        "US Gross",
        "Worldwide Gross",
        "US DVD Sales",
        "Production Budget",
        "Running Time min",
        "Rotten Tomatoes Rating",
        "IMDB Votes",
    ] {
        properties.insert(field.into(), long());
    }
    properties.insert("IMDB Rating".into(), DoubleNumberProperty::new().into());
    TypeMapping::new()
        .dynamic(elasticsearch_client::types::mapping::DynamicMapping::Strict)
        .properties(properties)
}

async fn run(args: &Args) -> Result<(), String> {
    let client = Client::new(&args.url).map_err(|e| describe(&args.url, &e))?;
    let info = client
        .send(InfoRequest::new())
        .await
        .map_err(|e| describe(&args.url, &e))?;
    println!(
        "connected to {} (Elasticsearch {})",
        info.cluster_name, info.version.number
    );

    let text = std::fs::read_to_string(&args.data)
        .map_err(|e| format!("cannot read {}: {e}", args.data))?;
    let movies: Vec<Value> = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a JSON array: {e}", args.data))?;

    // A fresh index each run; none there yet is fine.
    client
        .send_or_none(DeleteRequest::new(INDEX), &[404])
        .await
        .map_err(|e| describe(&args.url, &e))?;
    client
        .send(CreateRequest::new(INDEX).mappings(mapping()))
        .await
        .map_err(|e| describe(&args.url, &e))?;

    // Load through the bulk API, the position in the file as the id.
    let mut loaded = 0usize;
    let mut rejected = 0usize;
    for (batch_no, batch) in movies.chunks(BATCH).enumerate() {
        let operations: Vec<BulkOperation<Value>> = batch
            .iter()
            .enumerate()
            .map(|(i, movie)| {
                BulkOperation::index(movie.clone()).id((batch_no * BATCH + i + 1).to_string())
            })
            .collect();
        let response = client
            .send(BulkRequest::new(operations).index(INDEX))
            .await
            .map_err(|e| describe(&args.url, &e))?;
        for item in &response.items {
            let item = &item.value;
            match &item.error {
                None => loaded += 1,
                Some(error) => {
                    rejected += 1;
                    eprintln!(
                        "document {} rejected: {}: {}",
                        item.id.as_deref().unwrap_or("?"),
                        error.r#type,
                        error.reason.as_deref().unwrap_or("")
                    );
                }
            }
        }
    }
    client
        .send(RefreshRequest::new().index(INDEX))
        .await
        .map_err(|e| describe(&args.url, &e))?;
    println!("loaded {loaded} movies into `{INDEX}` ({rejected} rejected)\n");

    // 1. Full-text search with highlighting.
    let search = SearchRequest::new()
        .index(INDEX)
        .query(Query::Match(SingleKey::new(
            "Title",
            MatchQuery::new("star wars"),
        )))
        .highlight(elasticsearch_client::root::search::Highlight::new(
            SingleKey::new(
                "Title",
                elasticsearch_client::root::search::HighlightField::new(),
            ),
        ))
        .size(5);
    let response = client
        .send(search)
        .await
        .map_err(|e| describe(&args.url, &e))?;
    println!("1. full-text search `star wars` in titles (top 5 with highlights):");
    for hit in &response.hits.hits {
        let highlight = hit
            .highlight
            .as_ref()
            .and_then(|h| h.get("Title"))
            .and_then(|fragments| fragments.first())
            .cloned()
            .unwrap_or_default();
        println!("   {:>6.2}  {highlight}", hit.score.unwrap_or_default());
    }

    // 2. Filtered range query: well-rated films released in the nineties.
    let filtered = SearchRequest::new()
        .index(INDEX)
        .query(Query::Bool(Box::new(BoolQuery::new().filter(vec![
            Query::Range(SingleKey::new(
                "Release Date",
                RangeQuery::from(DateRangeQuery::new().gte("Jan 01 1990").lt("Jan 01 2000")),
            )),
            Query::Range(SingleKey::new(
                "IMDB Rating",
                RangeQuery::from(NumberRangeQuery::new().gte(8.5)),
            )),
        ]))))
        .sort(vec![SortOptions::field(
            "IMDB Rating",
            FieldSort::new().order(SortOrder::Desc),
        )
        .into()])
        .size(5);
    let response = client
        .send(filtered)
        .await
        .map_err(|e| describe(&args.url, &e))?;
    println!(
        "\n2. released 1990-1999 with IMDB rating >= 8.5: {} films; the best five:",
        total(&response.hits.total)
    );
    for hit in &response.hits.hits {
        let source = hit.source.clone().unwrap_or_default();
        println!(
            "   {:<45} {:>4}  {}",
            source["Title"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| source["Title"].to_string()),
            source["IMDB Rating"],
            source["Release Date"].as_str().unwrap_or_default()
        );
    }

    // 3. Terms aggregation by genre with the average IMDB rating of each.
    let by_genre = AggregationContainer::new(TermsAggregation::new().field("Major Genre").size(20))
        .aggregations(HashMap::from([(
            "avg_rating".to_string(),
            AggregationContainer::new(AverageAggregation::new().field("IMDB Rating")),
        )]));
    let aggregations = SearchRequest::new()
        .index(INDEX)
        .size(0)
        .aggregations(HashMap::from([("genres".to_string(), by_genre)]));
    let response = client
        .send(aggregations)
        .await
        .map_err(|e| describe(&args.url, &e))?;
    println!("\n3. films per genre, with their average IMDB rating:");
    if let Some(Aggregate::Sterms(terms)) =
        response.aggregations.as_ref().and_then(|a| a.get("genres"))
    {
        let buckets = match &terms.buckets {
            Buckets::TBucketList(list) => list.clone(),
            Buckets::Map(map) => map.values().cloned().collect(),
            _ => Vec::new(),
        };
        for bucket in &buckets {
            let avg = match bucket.aggregations.get("avg_rating") {
                Some(Aggregate::Avg(avg)) => avg.value.map(|v| format!("{v:.2}")),
                _ => None,
            };
            println!(
                "   {:<22} {:>4}  {}",
                match serde_json::to_value(&bucket.key).unwrap_or_default() {
                    Value::String(key) => key,
                    other => other.to_string(),
                },
                bucket.doc_count,
                avg.unwrap_or_else(|| "-".into())
            );
        }
    }

    // 4. Get by id.
    let got = client
        .send(GetRequest::new(INDEX, "1"))
        .await
        .map_err(|e| describe(&args.url, &e))?;
    let source = got.source.unwrap_or_default();
    println!(
        "\n4. movie 1: {} ({}), IMDB {}",
        source["Title"], source["Release Date"], source["IMDB Rating"]
    );

    // 5. Count.
    let count = client
        .send(CountRequest::new().index(INDEX))
        .await
        .map_err(|e| describe(&args.url, &e))?;
    println!("\n5. count: {}", count.count);
    if count.count as usize != loaded {
        return Err(format!(
            "the index holds {} documents, but {loaded} were acknowledged",
            count.count
        ));
    }
    Ok(())
}

fn total(total: &Option<elasticsearch_client::root::search::HitsMetadataTotal>) -> String {
    use elasticsearch_client::root::search::HitsMetadataTotal;
    match total {
        Some(HitsMetadataTotal::TotalHits(t)) => t.value.to_string(),
        Some(HitsMetadataTotal::Long(n)) => n.to_string(),
        _ => "?".into(),
    }
}
