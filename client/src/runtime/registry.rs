//! The endpoint registry: every public API of the specification by name, and a
//! request builder from an API name plus dynamic parameters (the YAML test runner and
//! tooling use it).

use bytes::Bytes;
use serde_json::{Map, Value};

use super::url::UrlBuilder;
use super::{push_ndjson_line, Error, RequestBody};

/// A URL template of an API.
#[derive(Debug, Clone, Copy)]
pub struct PathSpec {
    /// The path with `{part}` placeholders.
    pub path: &'static str,
    /// Allowed methods, in the specification's order.
    pub methods: &'static [&'static str],
    /// The parts in the path.
    pub parts: &'static [&'static str],
    /// Whether this path is deprecated.
    pub deprecated: bool,
}

/// How a parameter's value is typed in the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamKind {
    /// `true`/`false`.
    Boolean,
    /// An integer or float.
    Number,
    /// A string.
    String,
    /// One of an enumeration's values.
    Enum,
    /// A duration such as `1m`.
    Duration,
    /// A list (comma-joined on the wire).
    List,
    /// One of several types.
    Union,
    /// Something else (sent as JSON text).
    Other,
}

/// What body an API takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyKind {
    /// No body.
    None,
    /// One JSON document.
    Json,
    /// Newline-delimited JSON.
    Ndjson,
}

/// One API of the specification.
#[derive(Debug, Clone, Copy)]
pub struct ApiSpec {
    /// The API name, such as `indices.create`.
    pub name: &'static str,
    /// The Cargo feature holding its typed request.
    pub feature: &'static str,
    /// URL templates.
    pub paths: &'static [PathSpec],
    /// Path parts and their kinds.
    pub parts: &'static [(&'static str, ParamKind)],
    /// Query parameters and their kinds.
    pub params: &'static [(&'static str, ParamKind)],
    /// The body kind.
    pub body: BodyKind,
    /// Whether a body is required.
    pub body_required: bool,
    /// Request media types.
    pub request_media_types: &'static [&'static str],
    /// Response media types.
    pub response_media_types: &'static [&'static str],
    /// A HEAD API answering with a boolean (404 = false).
    pub exists: bool,
    /// `stable`, `beta` or `experimental`.
    pub stability: &'static str,
    /// `public`.
    pub visibility: &'static str,
    /// Whether the API is deprecated.
    pub deprecated: bool,
}

/// Query parameters every API accepts.
pub const COMMON_PARAMS: &[&str] = &[
    "pretty",
    "human",
    "error_trace",
    "filter_path",
    "format",
    "source",
];

/// Every public API, sorted by name.
pub fn apis() -> &'static [ApiSpec] {
    &crate::api::generated::registry::APIS
}

/// The API named `name`.
pub fn api(name: &str) -> Option<&'static ApiSpec> {
    let all = apis();
    all.binary_search_by(|a| a.name.cmp(name))
        .ok()
        .map(|i| &all[i])
}

/// A body given to [`build_request`].
#[derive(Debug, Clone)]
pub enum DynamicBody {
    /// A JSON value: sent as JSON (or, for NDJSON APIs, each array item as a line).
    Json(Value),
    /// NDJSON lines: objects are encoded, strings sent as they are.
    Lines(Vec<Value>),
    /// Text sent as it is.
    Text(String),
}

/// A request built from an API name and dynamic parameters.
#[derive(Debug, Clone)]
pub struct DynamicRequest {
    /// The method.
    pub method: http::Method,
    /// Path and query, percent-encoded.
    pub url: String,
    /// The body.
    pub body: Option<RequestBody>,
    /// The API.
    pub api: &'static ApiSpec,
}

struct Dyn<'a>(&'a Value);

impl super::url::UrlValue for Dyn<'_> {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        match self.0 {
            Value::Null => push(""),
            Value::Bool(b) => push(if *b { "true" } else { "false" }),
            Value::Number(n) => push(&n.to_string()),
            Value::String(s) => push(s),
            Value::Array(items) => {
                for i in items {
                    Dyn(i).write_values(push);
                }
            }
            Value::Object(_) => push(&self.0.to_string()),
        }
    }
}

/// Builds `(method, url, body)` for the API `name`.
///
/// Each parameter is a path part if some path of the API has it, else a query
/// parameter if the API (or every API: `pretty`, `human`, `error_trace`,
/// `filter_path`) takes it; anything else is an error. The path whose parts are all
/// given and that uses the most parts wins. With a body, `POST`/`PUT` are preferred
/// when the path allows them. Lists are comma-joined, booleans lowercase.
///
/// ```
/// use elasticsearch_client::runtime::registry::{build_request, DynamicBody};
/// use serde_json::json;
///
/// let params = json!({"index": "test", "id": "dir/file.txt", "refresh": true});
/// let req = build_request("index", params.as_object().unwrap(), Some(DynamicBody::Json(json!({"a": 1})))).unwrap();
/// assert_eq!(req.method, http::Method::PUT);
/// assert_eq!(req.url, "/test/_doc/dir%2Ffile.txt?refresh=true");
/// ```
pub fn build_request(
    name: &str,
    params: &Map<String, Value>,
    body: Option<DynamicBody>,
) -> Result<DynamicRequest, Error> {
    let api = api(name).ok_or_else(|| Error::build("registry", format!("unknown API `{name}`")))?;
    let endpoint = api.name;
    let is_part = |p: &str| api.paths.iter().any(|path| path.parts.contains(&p));
    let mut query: Vec<(&String, &Value)> = Vec::new();
    for (k, v) in params {
        if is_part(k) {
            continue;
        }
        if api.params.iter().any(|(n, _)| n == k) || COMMON_PARAMS.contains(&k.as_str()) {
            query.push((k, v));
        } else {
            return Err(Error::build(
                endpoint,
                format!("unknown parameter `{k}` for API `{endpoint}`"),
            ));
        }
    }
    let path = api
        .paths
        .iter()
        .filter(|p| p.parts.iter().all(|part| params.contains_key(*part)))
        .max_by_key(|p| (p.parts.len(), std::cmp::Reverse(p.deprecated)))
        .ok_or_else(|| {
            Error::build(
                endpoint,
                format!("no path of `{endpoint}` matches the given parts"),
            )
        })?;
    // The first of several equally long paths is the specification's preferred one.
    let path = api
        .paths
        .iter()
        .find(|p| {
            p.parts.len() == path.parts.len()
                && p.deprecated == path.deprecated
                && p.parts.iter().all(|part| params.contains_key(*part))
        })
        .unwrap_or(path);
    let mut url = UrlBuilder::new();
    let mut rest = path.path;
    while let Some(start) = rest.find('{') {
        url.literal(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| e + start);
        let part = &rest[start + 1..end];
        if let Some(v) = params.get(part) {
            url.part(&Dyn(v));
        }
        rest = rest.get(end + 1..).unwrap_or("");
    }
    url.literal(rest);
    for (k, v) in query {
        url.param(k, &Dyn(v));
    }
    let body = match body {
        None => None,
        Some(DynamicBody::Text(t)) => Some(if api.body == BodyKind::Ndjson {
            let mut out = Vec::new();
            for line in t.lines().filter(|l| !l.trim().is_empty()) {
                super::bulk::push_raw_line(endpoint, &mut out, line.as_bytes())?;
            }
            RequestBody::Ndjson(Bytes::from(out))
        } else {
            RequestBody::Text(Bytes::from(t))
        }),
        Some(DynamicBody::Lines(lines)) => Some(ndjson_lines(endpoint, &lines)?),
        Some(DynamicBody::Json(v)) => Some(match (&v, api.body) {
            (Value::Array(items), BodyKind::Ndjson) => ndjson_lines(endpoint, items)?,
            (Value::String(s), _) => RequestBody::Text(Bytes::from(s.clone())),
            _ => super::json_body(endpoint, &v)?,
        }),
    };
    let method = super::pick_method(path.methods, body.is_some());
    Ok(DynamicRequest {
        method,
        url: url.finish(),
        body,
        api,
    })
}

fn ndjson_lines(endpoint: &'static str, lines: &[Value]) -> Result<RequestBody, Error> {
    let mut out = Vec::new();
    for line in lines {
        match line {
            Value::String(s) => super::bulk::push_raw_line(endpoint, &mut out, s.as_bytes())?,
            other => push_ndjson_line(endpoint, &mut out, other)?,
        }
    }
    Ok(RequestBody::Ndjson(Bytes::from(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(
        name: &str,
        params: Value,
        body: Option<DynamicBody>,
    ) -> Result<DynamicRequest, Error> {
        build_request(name, params.as_object().expect("object"), body)
    }

    #[test]
    fn registry_is_sorted_and_complete() {
        let all = apis();
        assert!(all.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(all.len(), 563);
        assert!(api("indices.create").is_some());
        assert!(api("_internal.delete_desired_balance").is_none());
    }

    #[test]
    fn the_path_with_most_given_parts_wins() {
        let r = build("search", json!({}), None).expect("ok");
        assert_eq!((r.method, r.url.as_str()), (http::Method::GET, "/_search"));
        let r = build(
            "search",
            json!({"index": ["a", "b"], "size": 1}),
            Some(DynamicBody::Json(json!({"query": {"match_all": {}}}))),
        )
        .expect("ok");
        assert_eq!(
            (r.method, r.url.as_str()),
            (http::Method::POST, "/a,b/_search?size=1")
        );
        let r = build(
            "index",
            json!({"index": "i"}),
            Some(DynamicBody::Json(json!({}))),
        )
        .expect("ok");
        assert_eq!((r.method, r.url.as_str()), (http::Method::POST, "/i/_doc"));
        let r = build(
            "indices.exists",
            json!({"index": "test-weird-index-中文"}),
            None,
        )
        .expect("ok");
        assert_eq!(r.method, http::Method::HEAD);
        assert_eq!(r.url, "/test-weird-index-%E4%B8%AD%E6%96%87");
    }

    #[test]
    fn query_values_are_encoded() {
        let r = build(
            "search",
            json!({"index": "i", "expand_wildcards": ["open", "hidden"], "scroll": "1m", "allow_no_indices": false, "q": ""}),
            None,
        )
        .expect("ok");
        assert_eq!(
            r.url,
            "/i/_search?allow_no_indices=false&expand_wildcards=open,hidden&q=&scroll=1m"
        );
    }

    #[test]
    fn unknown_parameters_are_errors() {
        let err = build("search", json!({"nope": 1}), None).expect_err("unknown");
        assert!(err.is_build());
        assert!(err.to_string().contains("nope"));
        assert!(build("no.such.api", json!({}), None).is_err());
    }

    #[test]
    fn ndjson_bodies_take_lines() {
        let r = build(
            "bulk",
            json!({"refresh": true}),
            Some(DynamicBody::Json(
                json!([{"index": {"_index": "t"}}, {"a": 1}, "{\"delete\":{\"_id\":\"2\"}}"]),
            )),
        )
        .expect("ok");
        assert_eq!(
            (r.method, r.url.as_str()),
            (http::Method::POST, "/_bulk?refresh=true")
        );
        let body = r.body.expect("body");
        assert_eq!(body.content_type(), "application/x-ndjson");
        assert_eq!(
            body.bytes().as_ref(),
            b"{\"index\":{\"_index\":\"t\"}}\n{\"a\":1}\n{\"delete\":{\"_id\":\"2\"}}\n"
        );
    }
}
