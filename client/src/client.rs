//! The client: sends endpoint requests through the transport.

use std::time::Duration;

use bytes::Bytes;
use elasticsearch_transport::{RequestOptions as TransportOptions, Transport};
use http::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, Method};

use crate::endpoint::{Endpoint, RawResponse, RequestBody};
use crate::Error;

/// A handle to an Elasticsearch cluster. Cheap to clone; share it freely.
///
/// ```no_run
/// # async fn example() -> Result<(), elasticsearch_client::Error> {
/// use elasticsearch_client::Client;
///
/// let client = Client::new("http://127.0.0.1:9200")?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    transport: Transport,
}

/// Settings for one call.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CallOptions {
    /// Extra request headers.
    pub headers: HeaderMap,
    /// Statuses that count as success: their bodies are decoded as the response.
    pub ignore: Vec<u16>,
    /// Overrides the transport's request timeout.
    pub timeout: Option<Duration>,
    /// An `X-Opaque-Id` for tracing the call in the server's logs and tasks.
    pub opaque_id: Option<String>,
    /// Transport settings for this call (retries, deadline, …); `timeout` above wins
    /// over the one in here when both are set.
    pub transport: TransportOptions,
}

impl CallOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a request header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Treats `status` as success.
    pub fn ignore(mut self, status: u16) -> Self {
        self.ignore.push(status);
        self
    }

    /// Sets the request timeout for this call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets `X-Opaque-Id`.
    pub fn opaque_id(mut self, id: impl Into<String>) -> Self {
        self.opaque_id = Some(id.into());
        self
    }
}

impl Client {
    /// A client for the node at `url` (for example `http://127.0.0.1:9200`).
    pub fn new(url: &str) -> Result<Self, Error> {
        let transport = Transport::single(url).map_err(|source| Error::Transport {
            endpoint: "client",
            source,
        })?;
        Ok(Self { transport })
    }

    /// A client over a configured transport.
    pub fn from_transport(transport: Transport) -> Self {
        Self { transport }
    }

    /// The transport this client sends through.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends a request and decodes its answer; error statuses become [`Error::Api`].
    pub async fn send<E: Endpoint>(&self, endpoint: E) -> Result<E::Response, Error> {
        self.send_with(endpoint, &CallOptions::default()).await
    }

    /// [`Client::send`] with per-call options.
    pub async fn send_with<E: Endpoint>(
        &self,
        endpoint: E,
        options: &CallOptions,
    ) -> Result<E::Response, Error> {
        let raw = self.send_raw_with(&endpoint, options).await?;
        E::decode(raw, &options.ignore)
    }

    /// Sends a request and returns the answer undecoded, whatever its status.
    pub async fn send_raw<E: Endpoint>(&self, endpoint: E) -> Result<RawResponse, Error> {
        self.send_raw_with(endpoint, &CallOptions::default()).await
    }

    /// [`Client::send_raw`] with per-call options.
    pub async fn send_raw_with<E: Endpoint>(
        &self,
        endpoint: E,
        options: &CallOptions,
    ) -> Result<RawResponse, Error> {
        let body = endpoint.body()?;
        self.perform(
            E::NAME,
            endpoint.method(),
            &endpoint.url(),
            body,
            endpoint.accept(),
            options,
        )
        .await
    }

    /// Sends any request: `path_and_query` is relative to the node URL
    /// (`/my-index/_search?size=1`). The answer is returned whatever its status.
    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<RequestBody>,
        options: &CallOptions,
    ) -> Result<RawResponse, Error> {
        self.perform(
            "request",
            method,
            path_and_query,
            body,
            "application/json",
            options,
        )
        .await
    }

    async fn perform(
        &self,
        endpoint: &'static str,
        method: Method,
        url: &str,
        body: Option<RequestBody>,
        accept: &'static str,
        options: &CallOptions,
    ) -> Result<RawResponse, Error> {
        let mut builder = http::Request::builder().method(method).uri(url);
        let headers = builder.headers_mut().expect("a fresh builder has headers");
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        let bytes = match body {
            Some(body) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(body.content_type()));
                body.bytes().clone()
            }
            None => Bytes::new(),
        };
        for (name, value) in &options.headers {
            headers.append(name, value.clone());
        }
        if let Some(id) = &options.opaque_id {
            let value = HeaderValue::from_str(id)
                .map_err(|e| Error::build(endpoint, format!("invalid X-Opaque-Id: {e}")))?;
            headers.insert("x-opaque-id", value);
        }
        let mut request = builder
            .body(bytes)
            .map_err(|e| Error::build(endpoint, format!("invalid request: {e}")))?;
        let mut transport_options = options.transport.clone();
        if options.timeout.is_some() {
            transport_options.timeout = options.timeout;
        }
        request.extensions_mut().insert(transport_options);
        let response = self
            .transport
            .send(request)
            .await
            .map_err(|source| Error::Transport { endpoint, source })?;
        let (parts, body) = response.into_parts();
        Ok(RawResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}
