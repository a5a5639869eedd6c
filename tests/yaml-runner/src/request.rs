//! Turns a `do` (API name, parameters, body) into an HTTP request through the
//! client's generated endpoint registry.

use elasticsearch_client::runtime::registry::{self, BodyKind, DynamicBody};
use elasticsearch_client::RequestBody;
use http::Method;
use serde_json::{Map, Value};

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Built {
    /// The HTTP method.
    pub method: Method,
    /// Path and query, percent-encoded.
    pub path_and_query: String,
    /// The body, serialized.
    pub body: Option<RequestBody>,
    /// A HEAD API answering with a boolean (2xx true, 404 false).
    pub exists: bool,
}

/// Why a request could not be built.
#[derive(Debug, Clone)]
pub enum BuildError {
    /// A bad or unknown parameter: what `catch: param` expects.
    Param(String),
    /// Anything else (unknown API, missing path parts, unserializable body).
    Other(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Param(m) => write!(f, "parameter error: {m}"),
            BuildError::Other(m) => write!(f, "{m}"),
        }
    }
}

/// Builds the request for `api` with `params` (path parts and query parameters)
/// and an optional body (a JSON value, a list of NDJSON lines, or a literal string).
pub fn build(
    api: &str,
    params: &Map<String, Value>,
    body: Option<&Value>,
) -> Result<Built, BuildError> {
    let body = body.map(|b| match b {
        Value::String(s) => DynamicBody::Text(s.clone()),
        other => DynamicBody::Json(other.clone()),
    });
    match registry::build_request(api, params, body) {
        Ok(r) => {
            // A literal body (`body: |`) of a JSON API is JSON text: send it as it is,
            // as JSON.
            let body = match r.body {
                Some(RequestBody::Text(bytes)) if r.api.body == BodyKind::Json => {
                    Some(RequestBody::Json(bytes))
                }
                other => other,
            };
            Ok(Built {
                exists: r.api.exists,
                method: r.method,
                path_and_query: r.url,
                body,
            })
        }
        Err(e) => {
            let message = e.to_string();
            if message.contains("unknown parameter") {
                Err(BuildError::Param(message))
            } else {
                Err(BuildError::Other(message))
            }
        }
    }
}
