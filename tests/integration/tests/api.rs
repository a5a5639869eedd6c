//! The generated API against the real node: each response decodes into its typed
//! model and re-serializes to the JSON the server sent (ignoring key order), and the
//! request-building cases from real bug reports hold on the wire and in the index.

use std::collections::{BTreeSet, HashMap};

use anyhow::{ensure, Context, Result};
use elasticsearch_client::indices::{
    CreateRequest as CreateIndexRequest, DeleteRequest as DeleteIndexRequest,
    ExistsRequest as IndexExistsRequest, GetMappingRequest, PutMappingRequest, RefreshRequest,
};
use elasticsearch_client::runtime::{BulkOperation, SingleKey};
use elasticsearch_client::types::aggregations::{
    AggregationContainer, AverageAggregation, TermsAggregation,
};
use elasticsearch_client::types::mapping::{
    DoubleNumberProperty, KeywordProperty, Property, TextProperty, TypeMapping,
};
use elasticsearch_client::types::query_dsl::{MatchQuery, Query};
use elasticsearch_client::{
    BulkRequest, CallOptions, ClearScrollRequest, Client, ClosePointInTimeRequest, CountRequest,
    CreateRequest, DeleteRequest, Endpoint, ExistsRequest, GetRequest, IndexRequest, InfoRequest,
    MgetRequest, OpenPointInTimeRequest, ScrollRequest, SearchRequest, UpdateRequest,
};
use integration_tests::client;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Sends `request`, decodes the answer into its typed model, re-serializes it and
/// compares with what the server sent. Fields the server sent that the model dropped
/// must be listed in `known_gaps` (dotted paths, `*` for any array element or map
/// key): they are fields the specification does not list.
async fn roundtrip<E>(client: &Client, request: E, known_gaps: &[&str]) -> Result<E::Response>
where
    E: Endpoint,
    E::Response: Serialize + DeserializeOwned,
{
    let raw = client.send_raw(&request).await?;
    ensure!(
        raw.status.is_success(),
        "{} answered {}: {}",
        E::NAME,
        raw.status,
        String::from_utf8_lossy(&raw.body)
    );
    let sent: Value = serde_json::from_slice(&raw.body)
        .with_context(|| format!("{} answered non-JSON", E::NAME))?;
    let typed = E::decode(raw, &[]).with_context(|| format!("decoding {}", E::NAME))?;
    let back = serde_json::to_value(&typed)?;
    let mut missing = BTreeSet::new();
    let mut differing = Vec::new();
    compare("", &sent, &back, &mut missing, &mut differing);
    ensure!(
        differing.is_empty(),
        "{}: re-serialized values differ: {differing:#?}",
        E::NAME
    );
    let unexpected: Vec<_> = missing
        .iter()
        .filter(|path| !known_gaps.iter().any(|gap| matches_gap(gap, path)))
        .collect();
    ensure!(
        unexpected.is_empty(),
        "{}: the typed model dropped fields the server sent: {unexpected:?}",
        E::NAME
    );
    Ok(typed)
}

fn matches_gap(gap: &str, path: &str) -> bool {
    let gap: Vec<&str> = gap.split('.').collect();
    let path: Vec<&str> = path.split('.').collect();
    gap.len() == path.len() && gap.iter().zip(&path).all(|(g, p)| *g == "*" || g == p)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Records paths present in `sent` but absent from `back`, and values that differ.
/// Numbers compare by value; an absent field equals `null` on the other side.
fn compare(
    path: &str,
    sent: &Value,
    back: &Value,
    missing: &mut BTreeSet<String>,
    differing: &mut Vec<String>,
) {
    match (sent, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let child = join(path, key);
                match b.get(key) {
                    Some(other) => compare(&child, value, other, missing, differing),
                    None if value.is_null() => {}
                    None => {
                        missing.insert(child);
                    }
                }
            }
            for (key, value) in b {
                if !a.contains_key(key) && !value.is_null() {
                    differing.push(format!("{} added by the model", join(path, key)));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (x, y) in a.iter().zip(b) {
                compare(&join(path, "*"), x, y, missing, differing);
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            if a.as_f64() != b.as_f64() {
                differing.push(format!("{path}: {a} became {b}"));
            }
        }
        (a, b) if a == b => {}
        (a, b) => differing.push(format!("{path}: {a} became {b}")),
    }
}

async fn delete_index_if_exists(client: &Client, name: &str) -> Result<()> {
    client
        .send_or_none(DeleteIndexRequest::new(name), &[404])
        .await?;
    Ok(())
}

async fn fresh_index(client: &Client, name: &str, mapping: TypeMapping) -> Result<()> {
    delete_index_if_exists(client, name).await?;
    roundtrip(client, CreateIndexRequest::new(name).mappings(mapping), &[]).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Movie {
    title: String,
    genre: String,
    rating: f64,
}

fn movie_mapping() -> TypeMapping {
    let mut properties: HashMap<String, Property> = HashMap::new();
    properties.insert("title".into(), TextProperty::new().into());
    properties.insert("genre".into(), KeywordProperty::new().into());
    properties.insert("rating".into(), DoubleNumberProperty::new().into());
    TypeMapping::new().properties(properties)
}

#[tokio::test]
async fn document_apis_decode_and_reserialize() -> Result<()> {
    let client = client()?;
    let index = "api-roundtrip-docs";
    fresh_index(&client, index, movie_mapping()).await?;

    let info = roundtrip(&client, InfoRequest::new(), &[]).await?;
    ensure!(info.version.number.starts_with("9.5."), "{info:?}");

    let alien = Movie {
        title: "Alien".into(),
        genre: "Horror".into(),
        rating: 8.5,
    };
    let indexed = roundtrip(&client, IndexRequest::new(index, &alien).id("1"), &[]).await?;
    ensure!(indexed.id == "1");
    roundtrip(
        &client,
        CreateRequest::new(
            index,
            "2",
            &Movie {
                title: "Aliens".into(),
                genre: "Action".into(),
                rating: 8.4,
            },
        ),
        &[],
    )
    .await?;

    let got = roundtrip(
        &client,
        GetRequest::new(index, "1").with_document::<Movie>(),
        &[],
    )
    .await?;
    ensure!(got.found && got.source.as_ref() == Some(&alien), "{got:?}");

    let many = roundtrip(
        &client,
        MgetRequest::new().index(index).ids(vec![
            "1".to_string(),
            "2".to_string(),
            "missing".to_string(),
        ]),
        &[],
    )
    .await?;
    ensure!(many.docs.len() == 3);

    roundtrip(
        &client,
        UpdateRequest::<Value, Value>::new(index, "1").doc(json!({"rating": 8.6})),
        &[],
    )
    .await?;

    let bulk = roundtrip(
        &client,
        BulkRequest::new(vec![
            BulkOperation::<Value>::index(
                json!({"title": "Heat", "genre": "Crime", "rating": 8.3}),
            )
            .id("3"),
            BulkOperation::index(json!({"title": "Ronin", "genre": "Action", "rating": 7.2}))
                .id("4"),
            BulkOperation::delete("2"),
        ])
        .index(index)
        .refresh(elasticsearch_client::types::Refresh::True),
        &[],
    )
    .await?;
    ensure!(!bulk.errors && bulk.items.len() == 3, "{bulk:?}");

    roundtrip(&client, RefreshRequest::new().index(index), &[]).await?;
    let count = roundtrip(&client, CountRequest::new().index(index), &[]).await?;
    ensure!(count.count == 3, "count {}", count.count);

    ensure!(client.send(ExistsRequest::new(index, "1")).await?);
    ensure!(!client.send(ExistsRequest::new(index, "2")).await?);
    ensure!(client.send(IndexExistsRequest::new(index)).await?);
    ensure!(
        !client
            .send(IndexExistsRequest::new("api-roundtrip-absent"))
            .await?
    );

    roundtrip(&client, DeleteRequest::new(index, "4"), &[]).await?;
    roundtrip(&client, DeleteIndexRequest::new(index), &[]).await?;
    Ok(())
}

#[tokio::test]
async fn search_scroll_and_point_in_time_decode_and_reserialize() -> Result<()> {
    let client = client()?;
    let index = "api-roundtrip-search";
    fresh_index(&client, index, movie_mapping()).await?;
    let movies = [
        ("Alien", "Horror", 8.5),
        ("Aliens", "Action", 8.4),
        ("Heat", "Crime", 8.3),
        ("Ronin", "Action", 7.2),
        ("The Thing", "Horror", 8.2),
    ];
    let operations = movies
        .iter()
        .enumerate()
        .map(|(i, (title, genre, rating))| {
            BulkOperation::<Movie>::index(Movie {
                title: title.to_string(),
                genre: genre.to_string(),
                rating: *rating,
            })
            .id(i.to_string())
        })
        .collect::<Vec<_>>();
    client
        .send(
            BulkRequest::new(operations)
                .index(index)
                .refresh(elasticsearch_client::types::Refresh::True),
        )
        .await?;

    let by_genre = AggregationContainer::new(TermsAggregation::new().field("genre")).aggregations(
        HashMap::from([(
            "avg_rating".to_string(),
            AggregationContainer::new(AverageAggregation::new().field("rating")),
        )]),
    );
    let search = SearchRequest::new()
        .with_document::<Movie>()
        .index(index)
        .query(Query::Match(SingleKey::new(
            "title",
            MatchQuery::new("alien"),
        )))
        .highlight(elasticsearch_client::root::search::Highlight::new(
            SingleKey::new(
                "title",
                elasticsearch_client::root::search::HighlightField::new(),
            ),
        ))
        .aggregations(HashMap::from([("genres".to_string(), by_genre)]));
    let found = roundtrip(&client, search, &[]).await?;
    ensure!(!found.hits.hits.is_empty());
    ensure!(found.hits.hits[0].highlight.is_some());
    ensure!(found.aggregations.is_some());

    // Scroll through everything two at a time, then clear.
    let first = roundtrip(
        &client,
        SearchRequest::new().index(index).scroll("1m").size(2),
        &[],
    )
    .await?;
    let mut scroll_id = first.scroll_id.clone().context("no scroll id")?;
    let mut seen = first.hits.hits.len();
    loop {
        let page = roundtrip(
            &client,
            ScrollRequest::new(scroll_id.clone()).scroll("1m"),
            &[],
        )
        .await?;
        if page.hits.hits.is_empty() {
            break;
        }
        seen += page.hits.hits.len();
        if let Some(next) = page.scroll_id.clone() {
            scroll_id = next;
        }
    }
    ensure!(seen == movies.len(), "scrolled {seen}");
    let cleared = roundtrip(
        &client,
        ClearScrollRequest::new().scroll_id(vec![scroll_id]),
        &[],
    )
    .await?;
    ensure!(cleared.succeeded);

    let pit = roundtrip(&client, OpenPointInTimeRequest::new(index, "1m"), &[]).await?;
    let closed = roundtrip(&client, ClosePointInTimeRequest::new(pit.id.clone()), &[]).await?;
    ensure!(closed.succeeded);

    roundtrip(
        &client,
        PutMappingRequest::new(index).properties(HashMap::from([(
            "year".to_string(),
            Property::from(elasticsearch_client::types::mapping::IntegerNumberProperty::new()),
        )])),
        &[],
    )
    .await?;
    let mapping = roundtrip(&client, GetMappingRequest::new().index(index), &[]).await?;
    ensure!(mapping.contains_key(index), "{mapping:?}");

    roundtrip(
        &client,
        elasticsearch_client::cluster::HealthRequest::new(),
        &[],
    )
    .await?;
    let cat = roundtrip(
        &client,
        elasticsearch_client::cat::IndicesRequest::new().index(index),
        &[],
    )
    .await?;
    ensure!(cat.len() == 1, "{cat:?}");
    client.send(DeleteIndexRequest::new(index)).await?;
    Ok(())
}

/// C1: ids with reserved characters reach the server intact and read back equal.
#[tokio::test]
async fn reserved_characters_in_ids_round_trip() -> Result<()> {
    let client = client()?;
    let index = "api-reserved-ids";
    fresh_index(&client, index, TypeMapping::new()).await?;
    for id in [
        "dir/file.txt",
        "q?x",
        "h#1",
        "50%",
        "a%2Fb",
        "é",
        "a b+c",
        "..",
        ".",
    ] {
        let indexed = client
            .send(IndexRequest::new(index, json!({"id": id})).id(id))
            .await
            .with_context(|| format!("indexing id {id:?}"))?;
        ensure!(indexed.id == id, "stored id {:?} for {id:?}", indexed.id);
        let got = client
            .send(GetRequest::new(index, id))
            .await
            .with_context(|| format!("getting id {id:?}"))?;
        ensure!(got.found && got.id == id, "got {:?} for {id:?}", got.id);
        ensure!(got.source == Some(json!({"id": id})));
    }
    client.send(DeleteIndexRequest::new(index)).await?;
    Ok(())
}

/// C4: a float with a zero fraction keeps its decimal point, so dynamic mapping makes
/// the field a float; NaN is a build error, not `null`.
#[tokio::test]
async fn floats_keep_their_decimal_point() -> Result<()> {
    #[derive(Serialize)]
    struct Payment {
        amount: f64,
    }
    let client = client()?;
    let index = "api-float-amounts";
    delete_index_if_exists(&client, index).await?;
    for (id, amount) in [("1", 11.0), ("2", 1.15), ("3", 3.76)] {
        client
            .send(IndexRequest::new(index, Payment { amount }).id(id))
            .await?;
    }
    let mapping = client
        .send_raw(GetMappingRequest::new().index(index))
        .await?;
    let mapping: Value = serde_json::from_slice(&mapping.body)?;
    ensure!(
        mapping[index]["mappings"]["properties"]["amount"]["type"] == "float",
        "{mapping}"
    );
    let err = client
        .send(IndexRequest::new(index, Payment { amount: f64::NAN }).id("4"))
        .await
        .expect_err("NaN must not be sent");
    ensure!(err.is_build(), "{err}");
    client.send(RefreshRequest::new().index(index)).await?;
    let count = client.send(CountRequest::new().index(index)).await?;
    ensure!(count.count == 3);
    client.send(DeleteIndexRequest::new(index)).await?;
    Ok(())
}

/// C6: a GET whose 404 is ignored returns the parsed `found: false` body.
#[tokio::test]
async fn ignored_404_returns_the_body() -> Result<()> {
    let client = client()?;
    let index = "api-ignored-404";
    fresh_index(&client, index, TypeMapping::new()).await?;
    let got = client
        .send_with(
            GetRequest::new(index, "missing"),
            &CallOptions::new().ignore(404),
        )
        .await?;
    ensure!(!got.found);
    let err = client
        .send(GetRequest::new(index, "missing"))
        .await
        .expect_err("404 is an error unless ignored");
    ensure!(err.is_not_found(), "{err}");
    let err = client
        .send(GetRequest::new("api-no-such-index", "1"))
        .await
        .expect_err("missing index");
    let api = err.api_error().context("an API error")?;
    ensure!(
        api.error_type.as_deref() == Some("index_not_found_exception"),
        "{api:?}"
    );
    client.send(DeleteIndexRequest::new(index)).await?;
    Ok(())
}

/// `send_or_none`: a missing index deleted with 404 allowed is `None`, not a decode
/// error over the server's error object; an existing one is deleted and acknowledged;
/// a status that was not allowed stays an error.
#[tokio::test]
async fn allowed_404_over_an_error_body_is_none() -> Result<()> {
    let client = client()?;
    let index = "api-send-or-none";
    fresh_index(&client, index, TypeMapping::new()).await?;
    let deleted = client
        .send_or_none(DeleteIndexRequest::new(index), &[404])
        .await?
        .context("the index existed")?;
    ensure!(deleted.acknowledged);
    let again = client
        .send_or_none(DeleteIndexRequest::new(index), &[404])
        .await?;
    ensure!(again.is_none(), "{again:?}");
    let err = client
        .send_or_none(DeleteIndexRequest::new(index), &[409])
        .await
        .expect_err("404 was not allowed");
    ensure!(err.is_not_found(), "{err}");
    Ok(())
}
