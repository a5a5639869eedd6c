//! Returns the cluster to an empty state between tests: data streams, indices
//! (hidden ones too), templates, pipelines, repositories and cluster settings.
//! APIs the node lacks (400/404/405) are passed over.

use elasticsearch_client::{CallOptions, Client, RequestBody};
use http::Method;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

/// Characters kept as-is in a path segment besides alphanumerics.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b',');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

async fn call(
    (client, options): (&Client, &CallOptions),
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Option<Value> {
    let body = body.map(|b| RequestBody::Json(b.to_string().into()));
    let response = client.request(method, path, body, options).await.ok()?;
    if !response.status.is_success() {
        return None;
    }
    serde_json::from_slice(&response.body).ok()
}

/// Names in a `GET` listing: the keys of an object, or a field of each array item.
fn names(value: Option<Value>, array_key: &str, item_field: &str) -> Vec<(String, Value)> {
    match value {
        Some(Value::Object(mut map)) if !array_key.is_empty() => match map.remove(array_key) {
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|item| {
                    let name = item.get(item_field)?.as_str()?.to_string();
                    Some((name, item))
                })
                .collect(),
            _ => Vec::new(),
        },
        Some(Value::Object(map)) => map.into_iter().collect(),
        _ => Vec::new(),
    }
}

fn managed(item: &Value) -> bool {
    let meta = |v: &Value| {
        v.pointer("/_meta/managed")
            .or_else(|| v.pointer("/index_template/_meta/managed"))
            .or_else(|| v.pointer("/component_template/_meta/managed"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    meta(item)
}

/// Deletes what tests leave behind, sending each request with `options` (the
/// credentials of a secured cluster). Errors are ignored: cleanup is best effort and
/// a test that leaves something the next test trips over shows up there.
pub async fn clean(client: &Client, options: &CallOptions) {
    let client = (client, options);
    let _ = call(
        client,
        Method::DELETE,
        "/_data_stream/*?expand_wildcards=all",
        None,
    )
    .await;

    let indices = call(
        client,
        Method::GET,
        "/_cat/indices?format=json&h=index&expand_wildcards=all",
        None,
    )
    .await;
    if let Some(Value::Array(items)) = indices {
        let names: Vec<String> = items
            .iter()
            .filter_map(|i| i.get("index").and_then(Value::as_str))
            .filter(|n| !n.starts_with(".security") && !n.starts_with(".ds-"))
            .map(str::to_string)
            .collect();
        for name in names {
            let _ = call(
                client,
                Method::DELETE,
                &format!("/{}?expand_wildcards=all", enc(&name)),
                None,
            )
            .await;
        }
    }

    for (list, array_key, field, delete) in [
        (
            "/_index_template",
            "index_templates",
            "name",
            "/_index_template/",
        ),
        (
            "/_component_template",
            "component_templates",
            "name",
            "/_component_template/",
        ),
        ("/_template", "", "", "/_template/"),
        ("/_ingest/pipeline", "", "", "/_ingest/pipeline/"),
    ] {
        let items = names(
            call(client, Method::GET, list, None).await,
            array_key,
            field,
        );
        for (name, item) in items {
            if name.starts_with('.') || managed(&item) {
                continue;
            }
            let _ = call(
                client,
                Method::DELETE,
                &format!("{delete}{}", enc(&name)),
                None,
            )
            .await;
        }
    }

    let repos = names(
        call(client, Method::GET, "/_snapshot/_all", None).await,
        "",
        "",
    );
    for (repo, _) in repos {
        let _ = call(
            client,
            Method::DELETE,
            &format!("/_snapshot/{}/*", enc(&repo)),
            None,
        )
        .await;
        let _ = call(
            client,
            Method::DELETE,
            &format!("/_snapshot/{}", enc(&repo)),
            None,
        )
        .await;
    }

    let _ = call(
        client,
        Method::PUT,
        "/_cluster/settings",
        Some(serde_json::json!({"transient": {"*": null}, "persistent": {"*": null}})),
    )
    .await;
}
