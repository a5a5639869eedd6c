//! The generated API against the cases it must get right: URL selection and encoding,
//! union and enum decoding, floats, NDJSON bodies, HEAD answers and a full search
//! response. No server involved: these check what goes on the wire and how answers decode.

use std::collections::HashMap;

use bytes::Bytes;
use elasticsearch_client::runtime::{BulkOperation, Duration, OneOrMany, SingleKey, TypedKeys};
use elasticsearch_client::types::aggregations::{
    Aggregate, AggregationContainer, TermsAggregation,
};
use elasticsearch_client::types::query_dsl::{MatchQuery, Query};
use elasticsearch_client::types::ExpandWildcard;
use elasticsearch_client::{indices, search, Endpoint, RawResponse};
use http::{HeaderMap, Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

fn raw(status: u16, body: &str) -> RawResponse {
    RawResponse {
        status: StatusCode::from_u16(status).expect("valid status"),
        headers: HeaderMap::new(),
        body: Bytes::from(body.to_owned()),
    }
}

fn body_json<E: Endpoint>(e: &E) -> Value {
    let body = e.body().expect("serializable").expect("a body");
    serde_json::from_slice(body.bytes()).expect("JSON body")
}

#[test]
fn document_ids_are_percent_encoded_and_index_picks_put_or_post() {
    let doc = json!({"a": 1});
    let with_id = elasticsearch_client::IndexRequest::new("test", doc.clone()).id("dir/file.txt");
    assert_eq!(with_id.url(), "/test/_doc/dir%2Ffile.txt");
    assert_eq!(with_id.method(), Method::PUT);
    for (id, wire) in [
        ("q?x", "q%3Fx"),
        ("h#1", "h%231"),
        ("50%", "50%25"),
        ("a%2Fb", "a%252Fb"),
        ("é", "%C3%A9"),
        ("..", "%2E%2E"),
    ] {
        let get = elasticsearch_client::GetRequest::new("test", id);
        assert_eq!(get.url(), format!("/test/_doc/{wire}"));
        assert_eq!(get.method(), Method::GET);
    }
    let without_id = elasticsearch_client::IndexRequest::new("test", doc);
    assert_eq!(without_id.url(), "/test/_doc");
    assert_eq!(without_id.method(), Method::POST);
}

#[test]
fn query_strings_encode_unions_lists_booleans_and_durations() {
    use elasticsearch_client::search::SourceConfigParam;
    let mget = elasticsearch_client::MgetRequest::new()
        .index("i")
        .source(SourceConfigParam::Fields(vec!["entityId"].into()));
    assert_eq!(mget.url(), "/i/_mget?_source=entityId");
    let mget = elasticsearch_client::MgetRequest::new()
        .index("i")
        .source(false)
        .source_includes(vec!["a", "b.c"]);
    assert_eq!(mget.url(), "/i/_mget?_source=false&_source_includes=a,b.c");

    let search = elasticsearch_client::SearchRequest::new()
        .index(vec!["a", "b"])
        .expand_wildcards(vec![ExpandWildcard::Open, ExpandWildcard::Hidden])
        .scroll(std::time::Duration::from_secs(60))
        .allow_no_indices(false);
    assert_eq!(
        search.url(),
        "/a,b/_search?allow_no_indices=false&expand_wildcards=open,hidden&scroll=1m&typed_keys=true"
    );
    assert_eq!(search.method(), Method::GET);
    assert!(search.body().expect("ok").is_none());
    let scroll = elasticsearch_client::SearchRequest::new()
        .scroll(Duration::from(std::time::Duration::from_millis(1500)));
    assert_eq!(scroll.url(), "/_search?scroll=1500ms&typed_keys=true");
}

#[test]
fn body_fields_and_query_parameters_with_one_name_stay_apart() {
    let search = elasticsearch_client::SearchRequest::new()
        .size(10)
        .size_param(3);
    assert_eq!(search.url(), "/_search?typed_keys=true&size=3");
    assert_eq!(search.method(), Method::POST);
    assert_eq!(body_json(&search), json!({"size": 10}));
}

#[test]
fn a_search_with_match_query_terms_aggregation_and_highlight() {
    use elasticsearch_client::search::{Highlight, HighlightField};
    let mut aggs = HashMap::new();
    aggs.insert(
        "by_tag".to_string(),
        AggregationContainer::from(TermsAggregation::new().field("tag").size(5)),
    );
    let search = elasticsearch_client::SearchRequest::new()
        .index("articles")
        .query(Query::Match(SingleKey::new(
            "title",
            MatchQuery::new("rust"),
        )))
        .aggregations(aggs)
        .highlight(Highlight::new(SingleKey::new(
            "title",
            HighlightField::new(),
        )));
    assert_eq!(search.method(), Method::POST);
    assert_eq!(search.url(), "/articles/_search?typed_keys=true");
    assert_eq!(
        body_json(&search),
        json!({
            "query": {"match": {"title": {"query": "rust"}}},
            "aggregations": {"by_tag": {"terms": {"field": "tag", "size": 5}}},
            "highlight": {"fields": {"title": {}}}
        })
    );
}

#[test]
fn field_sorts_are_typed_both_ways() {
    use elasticsearch_client::types::{FieldSort, ScoreSort, SortOptions, SortOrder};
    let search = elasticsearch_client::SearchRequest::new().sort(vec![
        SortOptions::field("year", FieldSort::new().order(SortOrder::Desc)).into(),
        SortOptions::Score(ScoreSort::new()).into(),
    ]);
    assert_eq!(
        body_json(&search)["sort"],
        json!([{"year": {"order": "desc"}}, {"_score": {}}])
    );
    // A field name decodes into the typed variant, also in the shortcut form; the
    // listed keys keep their own variants.
    let decoded: Vec<SortOptions> = serde_json::from_value(
        json!([{"price": "asc"}, {"_doc": {}}, {"a.b": {"order": "desc", "missing": "_last"}}]),
    )
    .expect("sort options");
    match &decoded[..] {
        [SortOptions::Field(price, p), SortOptions::Doc(_), SortOptions::Field(ab, s)] => {
            assert_eq!((price.as_str(), ab.as_str()), ("price", "a.b"));
            assert!(matches!(p.order, Some(SortOrder::Asc)), "{p:?}");
            assert!(matches!(s.order, Some(SortOrder::Desc)), "{s:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unions_decode_both_forms() {
    // `T | T[]`
    let one: OneOrMany<String> = serde_json::from_str("\"a\"").expect("one");
    let many: OneOrMany<String> = serde_json::from_str("[\"a\",\"b\"]").expect("many");
    assert_eq!(one.as_slice(), ["a"]);
    assert_eq!(many.as_slice(), ["a", "b"]);
    assert_eq!(serde_json::to_string(&many).expect("ser"), "[\"a\",\"b\"]");
    // The shortcut form of a match query and its full form.
    let short: Query = serde_json::from_value(json!({"match": {"title": "rust"}})).expect("short");
    let full: Query =
        serde_json::from_value(json!({"match": {"title": {"query": "rust", "operator": "and"}}}))
            .expect("full");
    for q in [&short, &full] {
        let Query::Match(m) = q else {
            panic!("a match query: {q:?}")
        };
        assert_eq!(m.key, "title");
    }
    assert_eq!(
        serde_json::to_value(&full).expect("ser"),
        json!({"match": {"title": {"query": "rust", "operator": "and"}}})
    );
    // An aggregation given with the `aggs` alias.
    let agg: AggregationContainer = serde_json::from_value(
        json!({"terms": {"field": "a"}, "aggs": {"inner": {"max": {"field": "n"}}}}),
    )
    .expect("alias");
    assert!(agg
        .aggregations
        .as_ref()
        .is_some_and(|a| a.contains_key("inner")));
    // A query type from a plugin is kept.
    let custom: Query =
        serde_json::from_value(json!({"my_plugin_query": {"x": 1}})).expect("custom");
    assert!(matches!(&custom, Query::Custom(name, _) if name == "my_plugin_query"));
    assert_eq!(
        serde_json::to_value(&custom).expect("ser"),
        json!({"my_plugin_query": {"x": 1}})
    );
}

#[test]
fn unknown_enum_values_are_kept() {
    let known = r#"{"partial-idx":{"aliases":{},"mappings":{},"settings":{"index":{"store":{"type":"fs"},"number_of_shards":"1"}}}}"#;
    let unknown = r#"{"partial-idx":{"aliases":{},"mappings":{},"settings":{"index":{"store":{"type":"snapshot"},"number_of_shards":"1"}}}}"#;
    let newer = unknown.replace("snapshot", "brand_new_type_2031");
    for (text, wire) in [
        (known, "fs"),
        (unknown, "snapshot"),
        (newer.as_str(), "brand_new_type_2031"),
    ] {
        let decoded: indices::GetResponse =
            indices::GetRequest::decode(raw(200, text), &[]).expect("decodes");
        let store = decoded["partial-idx"]
            .settings
            .as_ref()
            .and_then(|s| s.index.as_ref())
            .and_then(|s| s.store.as_ref())
            .expect("store settings");
        assert_eq!(store.r#type.as_str(), wire);
        if wire == "fs" {
            assert_eq!(store.r#type, indices::StorageType::Fs);
        } else {
            assert_eq!(
                store.r#type,
                indices::StorageType::Unknown(wire.to_string())
            );
        }
        let again = serde_json::to_value(&decoded).expect("re-encodes");
        assert_eq!(again, serde_json::from_str::<Value>(text).expect("json"));
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Payment {
    amount: f64,
}

#[test]
fn a_float_with_zero_fraction_keeps_its_decimal_point() {
    let req = elasticsearch_client::IndexRequest::new("payments", Payment { amount: 11.0 });
    let body = req.body().expect("ok").expect("body");
    assert_eq!(body.bytes().as_ref(), b"{\"amount\":11.0}");
    assert_eq!(body.content_type(), "application/json");
}

#[test]
fn bulk_bodies_are_ndjson() {
    let ops: Vec<BulkOperation> = vec![
        BulkOperation::index(json!({"msg": "line1\nline2", "n": 1}))
            .index_name("t")
            .id("1"),
        BulkOperation::delete("2").index_name("t"),
        BulkOperation::index_raw("{\"msg\":\"pre\"}").index_name("t"),
    ];
    let req = elasticsearch_client::BulkRequest::new(ops);
    assert_eq!((req.method(), req.url().as_str()), (Method::POST, "/_bulk"));
    let body = req.body().expect("ok").expect("body");
    assert_eq!(body.content_type(), "application/x-ndjson");
    assert_eq!(
        std::str::from_utf8(body.bytes()).expect("utf-8"),
        "{\"index\":{\"_index\":\"t\",\"_id\":\"1\"}}\n{\"msg\":\"line1\\nline2\",\"n\":1}\n{\"delete\":{\"_index\":\"t\",\"_id\":\"2\"}}\n{\"index\":{\"_index\":\"t\"}}\n{\"msg\":\"pre\"}\n"
    );
    let answer = r#"{"errors":true,"took":3,"items":[
        {"index":{"_index":"t","_id":"1","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}},
        {"delete":{"_index":"t","_id":"2","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected"}}}]}"#;
    let decoded =
        elasticsearch_client::BulkRequest::<Value>::decode(raw(200, answer), &[]).expect("decodes");
    assert!(decoded.errors);
    let first = &decoded.items[0].value;
    assert_eq!(
        (first.status, first.id.as_deref(), first.seq_no),
        (201, Some("1"), Some(0))
    );
    let second = &decoded.items[1].value;
    let error = second.error.as_ref().expect("an error");
    assert_eq!(second.status, 429);
    assert_eq!(error.r#type, "es_rejected_execution_exception");
    assert_eq!(error.reason.as_deref(), Some("rejected"));
}

#[test]
fn exists_is_a_boolean_and_404_is_not_an_error() {
    let req = indices::ExistsRequest::new("idx");
    assert_eq!((req.method(), req.url().as_str()), (Method::HEAD, "/idx"));
    assert!(indices::ExistsRequest::decode(raw(200, ""), &[]).expect("ok"));
    assert!(!indices::ExistsRequest::decode(raw(404, ""), &[]).expect("ok"));
    let err = indices::ExistsRequest::decode(raw(500, ""), &[]).expect_err("500 is an error");
    assert_eq!(err.status(), Some(500));
    let doc = elasticsearch_client::ExistsRequest::new("idx", "missing");
    assert_eq!(
        (doc.method(), doc.url().as_str()),
        (Method::HEAD, "/idx/_doc/missing")
    );
    assert!(!elasticsearch_client::ExistsRequest::decode(raw(404, ""), &[]).expect("ok"));
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Article {
    title: String,
    tag: String,
    views: u64,
}

#[test]
fn a_full_search_response_decodes_with_documents_aggregations_and_highlights() {
    let text = r#"{
      "took": 5, "timed_out": false,
      "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
      "hits": {
        "total": {"value": 2, "relation": "eq"},
        "max_score": 1.3862942,
        "hits": [
          {"_index": "articles", "_id": "1", "_score": 1.3862942,
           "_source": {"title": "Rust in production", "tag": "rust", "views": 18446744073709551615},
           "highlight": {"title": ["<em>Rust</em> in production"]}},
          {"_index": "articles", "_id": "2", "_score": 0.2876821,
           "_source": {"title": "Why Rust", "tag": "lang", "views": 3}}
        ]
      },
      "aggregations": {
        "sterms#by_tag": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
          "buckets": [{"key": "lang", "doc_count": 1}, {"key": "rust", "doc_count": 1, "max#top_views": {"value": 1.8446744073709552e19}}]},
        "avg#avg_views": {"value": 11.0},
        "some_untyped": {"value": 1}
      }
    }"#;
    let req = elasticsearch_client::SearchRequest::new().with_document::<Article>();
    let _ = req;
    let resp: search::SearchResponse<Article> =
        elasticsearch_client::SearchRequest::<Article>::decode(raw(200, text), &[])
            .expect("decodes");
    assert_eq!(resp.hits.hits.len(), 2);
    let first = &resp.hits.hits[0];
    assert_eq!(first.source.as_ref().map(|a| a.views), Some(u64::MAX));
    assert_eq!(
        first
            .highlight
            .as_ref()
            .and_then(|h| h.get("title"))
            .map(|v| v[0].as_str()),
        Some("<em>Rust</em> in production")
    );
    let aggs: &TypedKeys<Aggregate> = resp.aggregations.as_ref().expect("aggregations");
    let Some(Aggregate::Sterms(terms)) = aggs.get("by_tag") else {
        panic!("string terms: {:?}", aggs.get("by_tag"))
    };
    let buckets = serde_json::to_value(&terms.buckets).expect("ser");
    assert_eq!(buckets[1]["key"], "rust");
    assert!(matches!(aggs.get("avg_views"), Some(Aggregate::Avg(_))));
    assert!(matches!(aggs.get("some_untyped"), Some(Aggregate::Other(tag, _)) if tag.is_empty()));
    // Re-encoding gives the same JSON (keys in any order).
    let again = serde_json::to_value(&resp).expect("re-encodes");
    assert_eq!(again, serde_json::from_str::<Value>(text).expect("json"));
}
