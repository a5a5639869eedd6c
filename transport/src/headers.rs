//! Standard headers: User-Agent, `x-elastic-client-meta`, compatibility media types,
//! `X-Opaque-Id` and custom per-client headers.

use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use tower_layer::Layer;
use tower_service::Service;

use crate::options::RequestOptions;

/// The `x-elastic-client-meta` header name.
pub const CLIENT_META: HeaderName = HeaderName::from_static("x-elastic-client-meta");
/// The `x-opaque-id` header name.
pub const OPAQUE_ID: HeaderName = HeaderName::from_static("x-opaque-id");

/// The Rust compiler version the transport was built with.
pub const RUSTC_VERSION: &str = env!("ES_TRANSPORT_RUSTC_VERSION");

/// How `application/json` and `application/x-ndjson` are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compatibility {
    /// Plain `application/json` / `application/x-ndjson`.
    Off,
    /// `application/vnd.elasticsearch+json; compatible-with=N` (and the `+x-ndjson` form).
    Version(u8),
}

impl Default for Compatibility {
    /// Compatibility with major version 9.
    fn default() -> Self {
        Compatibility::Version(9)
    }
}

/// Formats a crate version the way the meta header wants it: `9.5.0`, pre-releases as `9.5.0p`.
pub fn meta_version(version: &str) -> String {
    match version.split_once(['-', '+']) {
        Some((base, rest)) if version.as_bytes()[base.len()] == b'-' && !rest.is_empty() => {
            format!("{base}p")
        }
        Some((base, _)) => base.to_string(),
        None => version.to_string(),
    }
}

#[derive(Clone, Debug)]
pub(crate) struct HeaderSettings {
    pub(crate) user_agent: HeaderValue,
    pub(crate) meta: Option<String>,
    pub(crate) meta_value: Option<HeaderValue>,
    pub(crate) compatibility: Compatibility,
    pub(crate) json: HeaderValue,
    pub(crate) ndjson: HeaderValue,
    pub(crate) default_headers: HeaderMap,
}

impl HeaderSettings {
    pub(crate) fn new(
        user_agent: HeaderValue,
        meta: Option<String>,
        compatibility: Compatibility,
        default_headers: HeaderMap,
    ) -> Self {
        let (json, ndjson) = match compatibility {
            Compatibility::Off => (
                HeaderValue::from_static("application/json"),
                HeaderValue::from_static("application/x-ndjson"),
            ),
            Compatibility::Version(n) => (
                HeaderValue::try_from(format!(
                    "application/vnd.elasticsearch+json; compatible-with={n}"
                ))
                .unwrap_or_else(|_| HeaderValue::from_static("application/json")),
                HeaderValue::try_from(format!(
                    "application/vnd.elasticsearch+x-ndjson; compatible-with={n}"
                ))
                .unwrap_or_else(|_| HeaderValue::from_static("application/x-ndjson")),
            ),
        };
        Self {
            user_agent,
            meta_value: meta.as_deref().and_then(|m| HeaderValue::try_from(m).ok()),
            meta,
            compatibility,
            json,
            ndjson,
            default_headers,
        }
    }

    fn rewrite(&self, value: &HeaderValue) -> Option<HeaderValue> {
        if self.compatibility == Compatibility::Off {
            return None;
        }
        let text = value.to_str().ok()?;
        let essence = text.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case("application/json") {
            Some(self.json.clone())
        } else if essence.eq_ignore_ascii_case("application/x-ndjson") {
            Some(self.ndjson.clone())
        } else {
            None
        }
    }
}

/// Adds the standard headers and rewrites JSON media types to the compatibility form.
#[derive(Clone, Debug)]
pub struct Headers<S> {
    inner: S,
    settings: std::sync::Arc<HeaderSettings>,
}

/// Layer for [`Headers`].
#[derive(Clone, Debug)]
pub struct HeadersLayer {
    settings: std::sync::Arc<HeaderSettings>,
}

impl HeadersLayer {
    pub(crate) fn new(settings: HeaderSettings) -> Self {
        Self {
            settings: std::sync::Arc::new(settings),
        }
    }
}

impl<S> Layer<S> for HeadersLayer {
    type Service = Headers<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Headers {
            inner,
            settings: self.settings.clone(),
        }
    }
}

impl<S> Service<http::Request<Bytes>> for Headers<S>
where
    S: Service<http::Request<Bytes>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Bytes>) -> Self::Future {
        let settings = &self.settings;
        let options = request.extensions().get::<RequestOptions>();
        let meta = match (
            &settings.meta,
            options.and_then(|o| o.client_meta.as_deref()),
        ) {
            (Some(meta), Some(extra)) if !extra.is_empty() => {
                HeaderValue::try_from(format!("{meta},{extra}")).ok()
            }
            _ => settings.meta_value.clone(),
        };
        let opaque_id = options
            .and_then(|o| o.opaque_id.as_deref())
            .and_then(|id| HeaderValue::try_from(id).ok());
        let headers = request.headers_mut();
        for (name, value) in &settings.default_headers {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, settings.user_agent.clone());
        }
        if let Some(value) = meta {
            headers.insert(CLIENT_META, value);
        }
        if let Some(value) = opaque_id {
            headers.insert(OPAQUE_ID, value);
        }
        match headers.get(ACCEPT) {
            None => {
                headers.insert(ACCEPT, settings.json.clone());
            }
            Some(accept) => {
                if let Some(v) = settings.rewrite(accept) {
                    headers.insert(ACCEPT, v);
                }
            }
        }
        if let Some(v) = headers
            .get(CONTENT_TYPE)
            .and_then(|ct| settings.rewrite(ct))
        {
            headers.insert(CONTENT_TYPE, v);
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_versions() {
        assert_eq!(meta_version("9.5.0"), "9.5.0");
        assert_eq!(meta_version("9.5.0-alpha.1"), "9.5.0p");
        assert_eq!(meta_version("9.5.0+build"), "9.5.0");
    }

    #[test]
    fn rewrites_only_json_types() {
        let s = HeaderSettings::new(
            HeaderValue::from_static("ua"),
            None,
            Compatibility::Version(8),
            HeaderMap::new(),
        );
        let r = |v: &'static str| s.rewrite(&HeaderValue::from_static(v));
        assert_eq!(
            r("application/json").unwrap(),
            "application/vnd.elasticsearch+json; compatible-with=8"
        );
        assert_eq!(
            r("application/x-ndjson; charset=utf-8").unwrap(),
            "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
        );
        assert!(r("text/plain").is_none());
        assert!(r("application/yaml").is_none());
    }
}
