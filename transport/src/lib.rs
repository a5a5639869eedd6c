//! HTTP transport for Elasticsearch clusters.
//!
//! The transport carries `http::Request<Bytes>` values to a node of the cluster and
//! returns the buffered `http::Response<Bytes>`. It knows nothing of endpoints:
//! any HTTP status the server sends is returned as a response, and errors are
//! reserved for failures to get one.

#![warn(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client as HyperClient};
use hyper_util::rt::TokioExecutor;

/// A cheaply cloneable handle to a cluster.
#[derive(Clone, Debug)]
pub struct Transport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: http::Uri,
    client: HyperClient<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

/// Per-request settings, carried in the request's extensions.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Overrides the transport's request timeout for this request.
    pub timeout: Option<Duration>,
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node URL could not be used.
    #[error("invalid node URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given (credentials removed).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request failed before a response arrived.
    #[error("request to {node} failed")]
    Request {
        /// The node the request went to.
        node: String,
        /// The underlying failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No response within the timeout.
    #[error("request to {node} timed out after {timeout:?}")]
    Timeout {
        /// The node the request went to.
        node: String,
        /// The timeout in force.
        timeout: Duration,
    },
}

impl Transport {
    /// A transport to a single node, e.g. `http://127.0.0.1:9200`.
    pub fn single(url: &str) -> Result<Self, Error> {
        let base: http::Uri =
            url.parse()
                .map_err(|e: http::uri::InvalidUri| Error::InvalidUrl {
                    url: url.to_string(),
                    reason: e.to_string(),
                })?;
        let client = HyperClient::builder(TokioExecutor::new()).build_http();
        Ok(Self {
            inner: Arc::new(Inner {
                base,
                client,
                timeout: Duration::from_secs(30),
            }),
        })
    }

    /// Sends a request whose URI holds only the path and query (`/index/_doc/1?refresh=true`).
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, Error> {
        let (mut parts, body) = request.into_parts();
        let timeout = parts
            .extensions
            .get::<RequestOptions>()
            .and_then(|o| o.timeout)
            .unwrap_or(self.inner.timeout);
        let base = &self.inner.base;
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let prefix = base.path().trim_end_matches('/');
        let uri = format!(
            "{}://{}{}{}",
            base.scheme_str().unwrap_or("http"),
            base.authority().map(|a| a.as_str()).unwrap_or_default(),
            prefix,
            path_and_query
        );
        let node = format!(
            "{}://{}",
            base.scheme_str().unwrap_or("http"),
            base.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        parts.uri = uri
            .parse()
            .map_err(|e: http::uri::InvalidUri| Error::InvalidUrl {
                url: uri.clone(),
                reason: e.to_string(),
            })?;
        let request = http::Request::from_parts(parts, Full::new(body));
        let fut = async {
            let response =
                self.inner
                    .client
                    .request(request)
                    .await
                    .map_err(|e| Error::Request {
                        node: node.clone(),
                        source: Box::new(e),
                    })?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| Error::Request {
                node: node.clone(),
                source: Box::new(e),
            })?;
            Ok(http::Response::from_parts(parts, body.to_bytes()))
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout { node, timeout }),
        }
    }
}
