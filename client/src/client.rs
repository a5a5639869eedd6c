//! The client: sends endpoint requests through the transport.

use std::time::Duration;

use bytes::Bytes;
use elasticsearch_transport::{RequestOptions as TransportOptions, Transport, TransportBuilder};
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

/// Configures a [`Client`]: nodes, credentials, TLS, and through
/// [`ClientBuilder::transport`] every other transport setting.
///
/// ```no_run
/// use std::time::Duration;
/// use elasticsearch_client::Client;
///
/// # fn example() -> Result<(), elasticsearch_client::Error> {
/// let client = Client::builder()
///     .nodes(["https://es1.example.com:9200", "https://es2.example.com:9200"])
///     .api_key("id", "secret")
///     .ca_fingerprint("9f:3a:...")
///     .transport(|t| t.request_timeout(Duration::from_secs(10)).sniff_on_start(true))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    transport: TransportBuilder,
}

impl ClientBuilder {
    /// Adds a node URL (`http(s)://[user:password@]host[:port][/path-prefix]`).
    pub fn node(self, url: impl Into<String>) -> Self {
        self.transport(|t| t.node(url))
    }

    /// Adds several node URLs.
    pub fn nodes<I, U>(self, urls: I) -> Self
    where
        I: IntoIterator<Item = U>,
        U: Into<String>,
    {
        self.transport(|t| t.nodes(urls))
    }

    /// Connects to an Elastic Cloud deployment by its Cloud ID.
    pub fn cloud_id(self, cloud_id: impl Into<String>) -> Self {
        self.transport(|t| t.cloud_id(cloud_id))
    }

    /// Authenticates with a user name and password.
    pub fn basic_auth(self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.transport(|t| t.basic_auth(username, password))
    }

    /// Authenticates with an API key given as id and key.
    pub fn api_key(self, id: impl Into<String>, key: impl Into<String>) -> Self {
        self.transport(|t| t.api_key(id, key))
    }

    /// Authenticates with an API key in its encoded form (`base64(id:key)`).
    pub fn encoded_api_key(self, encoded: impl Into<String>) -> Self {
        self.transport(|t| t.encoded_api_key(encoded))
    }

    /// Authenticates with a bearer token.
    pub fn bearer_auth(self, token: impl Into<String>) -> Self {
        self.transport(|t| t.bearer_auth(token))
    }

    /// Trusts the CA certificate(s) in a PEM file.
    pub fn ca_certificate_file(self, path: impl AsRef<std::path::Path>) -> Self {
        self.transport(|t| t.ca_certificate_file(path))
    }

    /// Trusts the certificate chain whose CA has this SHA-256 fingerprint (hex, with or
    /// without colons), as Elasticsearch prints it at first start.
    pub fn ca_fingerprint(self, fingerprint: &str) -> Self {
        self.transport(|t| t.ca_fingerprint(fingerprint))
    }

    /// Changes any other transport setting.
    pub fn transport(
        mut self,
        configure: impl FnOnce(TransportBuilder) -> TransportBuilder,
    ) -> Self {
        self.transport = configure(self.transport);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let transport = self.transport.build().map_err(|source| Error::Transport {
            endpoint: "client",
            source,
        })?;
        Ok(Client { transport })
    }
}

impl Client {
    /// A client for the node at `url` (for example `http://127.0.0.1:9200`), with
    /// default settings.
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::builder().node(url).build()
    }

    /// A builder for a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            transport: Transport::builder().client_meta(env!("CARGO_PKG_VERSION")),
        }
    }

    /// A client over a transport configured by hand.
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

    /// Sends a request; an answer with one of `statuses` (404 for something that may
    /// not exist, say) is `Ok(None)` whatever its body, any other error status is an
    /// error as with [`Client::send`].
    ///
    /// Unlike [`CallOptions::ignore`], which decodes the ignored answer as the
    /// response (right for `get`, whose 404 is a `found: false` document), this fits
    /// the APIs whose error answers carry Elasticsearch's error object instead.
    ///
    /// ```no_run
    /// # async fn example(client: elasticsearch_client::Client) -> Result<(), elasticsearch_client::Error> {
    /// use elasticsearch_client::indices::DeleteRequest;
    ///
    /// // Deleting an index that is not there is not a failure here.
    /// let deleted = client.send_or_none(DeleteRequest::new("logs-old"), &[404]).await?;
    /// println!("deleted: {}", deleted.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn send_or_none<E: Endpoint>(
        &self,
        endpoint: E,
        statuses: &[u16],
    ) -> Result<Option<E::Response>, Error> {
        let raw = self
            .send_raw_with(&endpoint, &CallOptions::default())
            .await?;
        if !raw.status.is_success() && statuses.contains(&raw.status.as_u16()) {
            return Ok(None);
        }
        E::decode(raw, &[]).map(Some)
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
            "raw",
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
        if transport_options.operation.is_none() {
            transport_options.operation = Some(endpoint.into());
        }
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
