//! The transport builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::Notify;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::util::BoxCloneSyncService;
use tower::ServiceBuilder;
use tower_layer::Layer;
use tower_service::Service;

use crate::auth::{AuthLayer, CredentialStore, Credentials};
use crate::compression::CompressionLayer;
use crate::connector::{Connector, Proxy};
use crate::error::Error;
use crate::headers::{meta_version, Compatibility, HeaderSettings, HeadersLayer, RUSTC_VERSION};
use crate::http_send::HttpSend;
use crate::node::{cloud_id_to_url, Node};
use crate::pool::{DeadNodeBackoff, Pool, PoolLayer};
use crate::product_check::ProductCheckLayer;
use crate::retry::{RetryLayer, RetryPolicy};
use crate::selector::{RoundRobin, Selector};
use crate::sniff::{NodeFilter, SniffSettings};
use crate::timeout::TimeoutLayer;
use crate::tls::{parse_fingerprint, RootStore, TlsSettings};
use crate::trace::TraceLayer;
use crate::{BoxedService, Transport};

type UserLayer = Arc<dyn Fn(BoxedService) -> BoxedService + Send + Sync>;

/// Configures a [`Transport`]. Defaults:
///
/// | setting | default |
/// |---|---|
/// | selector | round-robin |
/// | dead-node backoff | `min(30 s, 1 s * 2^(failures-1))` |
/// | max retries | 3 (429: jittered backoff 500 ms .. 10 s) |
/// | request timeout | 30 s per attempt; no overall deadline |
/// | connect timeout | 10 s |
/// | idle connections | 32 per node, closed after 90 s idle; TCP keepalive 60 s |
/// | sniffing | off (on start / on failure / interval each switchable; timeout 5 s) |
/// | TLS | webpki roots, verification on |
/// | compatibility | `compatible-with=9` |
/// | product check | on |
/// | request gzip | off (responses are always decoded) |
#[must_use]
pub struct TransportBuilder {
    urls: Vec<String>,
    cloud_id: Option<String>,
    credentials: Option<Credentials>,
    selector: Arc<dyn Selector>,
    dead: DeadNodeBackoff,
    sniff: SniffSettings,
    retry: RetryPolicy,
    connect_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_node: usize,
    tcp_keepalive: Option<Duration>,
    tls: TlsSettings,
    proxy: Option<String>,
    proxy_auth: Option<(String, String)>,
    gzip_requests: bool,
    compatibility: Compatibility,
    product_check: bool,
    user_agent: Option<String>,
    meta_enabled: bool,
    client_version: String,
    headers: HeaderMap,
    max_concurrent_requests: Option<usize>,
    layers: Vec<UserLayer>,
    deferred: Option<Error>,
}

impl fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<String> = self
            .urls
            .iter()
            .map(|u| crate::node::redact_url(u))
            .collect();
        f.debug_struct("TransportBuilder")
            .field("urls", &urls)
            .field("cloud_id", &self.cloud_id)
            .field("credentials", &self.credentials)
            .field("selector", &self.selector)
            .field("dead_node_backoff", &self.dead)
            .field("sniff", &self.sniff)
            .field("retry", &self.retry)
            .field("tls", &self.tls)
            .field("proxy", &self.proxy.as_deref().map(crate::node::redact_url))
            .field("gzip_requests", &self.gzip_requests)
            .field("compatibility", &self.compatibility)
            .field("product_check", &self.product_check)
            .finish_non_exhaustive()
    }
}

impl Default for TransportBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TransportBuilder {
    /// A builder with the defaults listed above and no nodes.
    pub fn new() -> Self {
        Self {
            urls: Vec::new(),
            cloud_id: None,
            credentials: None,
            selector: Arc::new(RoundRobin::default()),
            dead: DeadNodeBackoff::default(),
            sniff: SniffSettings::default(),
            retry: RetryPolicy::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_node: 32,
            tcp_keepalive: Some(Duration::from_secs(60)),
            tls: TlsSettings::default(),
            proxy: None,
            proxy_auth: None,
            gzip_requests: false,
            compatibility: Compatibility::default(),
            product_check: true,
            user_agent: None,
            meta_enabled: true,
            client_version: env!("CARGO_PKG_VERSION").to_string(),
            headers: HeaderMap::new(),
            max_concurrent_requests: None,
            layers: Vec::new(),
            deferred: None,
        }
    }

    fn defer(&mut self, error: Error) {
        if self.deferred.is_none() {
            self.deferred = Some(error);
        }
    }

    /// Adds a node URL (`http(s)://[user:pass@]host[:port][/prefix]`). Userinfo becomes
    /// basic-auth credentials unless [`TransportBuilder::credentials`] is set.
    pub fn node(mut self, url: impl Into<String>) -> Self {
        self.urls.push(url.into());
        self
    }

    /// Adds several node URLs.
    pub fn nodes<I, U>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = U>,
        U: Into<String>,
    {
        self.urls.extend(urls.into_iter().map(Into::into));
        self
    }

    /// Connects to an Elastic Cloud deployment by its Cloud ID.
    pub fn cloud_id(mut self, cloud_id: impl Into<String>) -> Self {
        self.cloud_id = Some(cloud_id.into());
        self
    }

    /// Sets the credentials (they can be rotated later with [`Transport::set_credentials`]).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Basic authentication.
    pub fn basic_auth(self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials(Credentials::basic(username, password))
    }

    /// API key authentication from the key's id and secret.
    pub fn api_key(self, id: impl Into<String>, key: impl Into<String>) -> Self {
        self.credentials(Credentials::api_key(id, key))
    }

    /// API key authentication from the encoded key.
    pub fn encoded_api_key(self, encoded: impl Into<String>) -> Self {
        self.credentials(Credentials::encoded_api_key(encoded))
    }

    /// Bearer token authentication.
    pub fn bearer_auth(self, token: impl Into<String>) -> Self {
        self.credentials(Credentials::bearer(token))
    }

    /// The node selector (default [`RoundRobin`]).
    pub fn selector(mut self, selector: impl Selector) -> Self {
        self.selector = Arc::new(selector);
        self
    }

    /// Dead-node backoff: a node is left out for `min(max, initial * 2^(failures-1))`.
    pub fn dead_node_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.dead = DeadNodeBackoff::new(initial, max);
        self
    }

    /// Sniff before the first request (the first request waits for it).
    pub fn sniff_on_start(mut self, enabled: bool) -> Self {
        self.sniff.on_start = enabled;
        self
    }

    /// Sniff after a node is marked dead (at most once per [`TransportBuilder::sniff_min_delay_on_failure`]).
    pub fn sniff_on_failure(mut self, enabled: bool) -> Self {
        self.sniff.on_failure = enabled;
        self
    }

    /// Sniff periodically.
    pub fn sniff_interval(mut self, interval: Duration) -> Self {
        self.sniff.interval = Some(interval);
        self
    }

    /// Timeout of a sniff request (default 5 s).
    pub fn sniff_timeout(mut self, timeout: Duration) -> Self {
        self.sniff.timeout = timeout;
        self
    }

    /// Minimum delay between failure-triggered sniffs (default 10 s).
    pub fn sniff_min_delay_on_failure(mut self, delay: Duration) -> Self {
        self.sniff.min_delay_on_failure = delay;
        self
    }

    /// Which sniffed nodes join the pool (default [`crate::SkipMasterOnly`]).
    pub fn sniff_node_filter(mut self, filter: impl NodeFilter) -> Self {
        self.sniff.filter = Arc::new(filter);
        self
    }

    /// Maximum number of retries of a request (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// Whether `429 Too Many Requests` is retried after a backoff (default true).
    pub fn retry_on_429(mut self, enabled: bool) -> Self {
        self.retry.retry_on_429 = enabled;
        self
    }

    /// Whether timed-out non-idempotent requests (POST) are retried (default false).
    pub fn retry_on_timeout(mut self, enabled: bool) -> Self {
        self.retry.retry_on_timeout = enabled;
        self
    }

    /// The 429 backoff: before retry `n`, a delay drawn from `[d/2, d]` with
    /// `d = min(max, initial * 2^(n-1))` (default 500 ms, 10 s).
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.retry.initial_backoff = initial;
        self.retry.max_backoff = max;
        self
    }

    /// Timeout of each attempt (default 30 s); [`crate::RequestOptions::timeout`] overrides it.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.retry.request_timeout = timeout;
        self
    }

    /// Overall time budget of a request including retries and backoff (default none).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.retry.deadline = Some(deadline);
        self
    }

    /// TCP connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long idle pooled connections are kept (default 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = Some(timeout);
        self
    }

    /// Maximum idle connections kept per node (default 32).
    pub fn pool_max_idle_per_node(mut self, max: usize) -> Self {
        self.pool_max_idle_per_node = max;
        self
    }

    /// TCP keepalive interval (default 60 s; `None` switches it off).
    pub fn tcp_keepalive(mut self, keepalive: Option<Duration>) -> Self {
        self.tcp_keepalive = keepalive;
        self
    }

    /// Limits the number of requests in flight; callers wait for a slot (back-pressure).
    pub fn max_concurrent_requests(mut self, max: usize) -> Self {
        self.max_concurrent_requests = Some(max.max(1));
        self
    }

    /// The trust roots used when no CA certificate is given (default webpki roots).
    pub fn root_store(mut self, roots: RootStore) -> Self {
        self.tls.roots = roots;
        self
    }

    /// Trusts the CA certificate(s) in this PEM data (instead of the root store).
    pub fn ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.ca_pems.push(pem.into());
        self
    }

    /// Trusts the CA certificate(s) in this PEM file (e.g. Elasticsearch's `http_ca.crt`).
    pub fn ca_certificate_file(mut self, path: impl AsRef<std::path::Path>) -> Self {
        match std::fs::read(path.as_ref()) {
            Ok(pem) => self.tls.ca_pems.push(pem),
            Err(e) => self.defer(Error::config_with(
                format!(
                    "cannot read the CA certificate file {}",
                    path.as_ref().display()
                ),
                e,
            )),
        }
        self
    }

    /// Pins the SHA-256 fingerprint of a certificate of the server's chain, in the form
    /// Elasticsearch prints at first start (hex, colons optional). Replaces CA verification.
    pub fn ca_fingerprint(mut self, fingerprint: &str) -> Self {
        match parse_fingerprint(fingerprint) {
            Ok(fp) => self.tls.fingerprint = Some(fp),
            Err(e) => self.defer(e),
        }
        self
    }

    /// A client certificate chain and its private key (PEM) for mutual TLS.
    pub fn client_certificate_pem(
        mut self,
        certificate_chain: impl Into<Vec<u8>>,
        private_key: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client_cert = Some((certificate_chain.into(), private_key.into()));
        self
    }

    /// **Disables certificate verification**: any certificate is accepted, so the
    /// connection is open to interception. For tests only.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.tls.accept_invalid_certs = accept;
        self
    }

    /// Tunnels every connection through this HTTP proxy with `CONNECT`
    /// (`http://[user:pass@]host:port`).
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Basic credentials for the proxy (`Proxy-Authorization`).
    pub fn proxy_basic_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.proxy_auth = Some((username.into(), password.into()));
        self
    }

    /// Gzip request bodies and send `Accept-Encoding: gzip, deflate` (default off).
    pub fn gzip_requests(mut self, enabled: bool) -> Self {
        self.gzip_requests = enabled;
        self
    }

    /// The compatibility media type (default `compatible-with=9`).
    pub fn compatibility(mut self, compatibility: Compatibility) -> Self {
        self.compatibility = compatibility;
        self
    }

    /// Whether 2xx responses must carry `X-Elastic-Product: Elasticsearch` until the first
    /// one does (default true). Switch off for proxies that strip the header.
    pub fn product_check(mut self, enabled: bool) -> Self {
        self.product_check = enabled;
        self
    }

    /// Replaces the `User-Agent`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The client library's version, reported as `es=` in `x-elastic-client-meta` and in
    /// the default `User-Agent` (default: the transport's version).
    pub fn client_meta(mut self, client_version: impl Into<String>) -> Self {
        self.client_version = client_version.into();
        self
    }

    /// Whether `x-elastic-client-meta` is sent (default true).
    pub fn client_meta_enabled(mut self, enabled: bool) -> Self {
        self.meta_enabled = enabled;
        self
    }

    /// A header sent with every request that does not set it itself.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.insert(name, value);
            }
            _ => self.defer(Error::config(format!("invalid header `{name}`"))),
        }
        self
    }

    /// Adds a user layer. User layers sit between the request-preparing layers
    /// (headers, auth, compression) and the retry layer, so they see each logical
    /// request once, fully prepared; a layer added later wraps the ones added before.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<BoxedService> + Send + Sync + 'static,
        L::Service: Service<http::Request<Bytes>, Response = http::Response<Bytes>, Error = crate::Error>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<http::Request<Bytes>>>::Future: Send + 'static,
    {
        self.layers.push(Arc::new(move |inner| {
            BoxCloneSyncService::new(layer.layer(inner))
        }));
        self
    }

    /// Builds the transport. Sniffing, if enabled, starts in the background (at the
    /// first request when built outside a Tokio runtime).
    pub fn build(self) -> Result<Transport, Error> {
        if let Some(error) = self.deferred {
            return Err(error);
        }
        let mut urls = self.urls.clone();
        if let Some(cloud_id) = &self.cloud_id {
            urls.push(cloud_id_to_url(cloud_id)?);
        }
        if urls.is_empty() {
            return Err(Error::config("no node URL or Cloud ID given"));
        }
        let mut nodes = Vec::with_capacity(urls.len());
        let mut url_credentials = None;
        for url in &urls {
            let (node, creds) = Node::parse(url)?;
            if url_credentials.is_none() {
                url_credentials = creds;
            }
            if !nodes.iter().any(|n: &Node| n.url() == node.url()) {
                nodes.push(node);
            }
        }
        let credentials = CredentialStore::default();
        credentials.set(self.credentials.as_ref().or(url_credentials.as_ref()))?;

        let proxy = match &self.proxy {
            None => None,
            Some(url) => {
                let proxy = Proxy::parse(url)?;
                Some(match &self.proxy_auth {
                    Some((u, p)) => proxy.with_basic_auth(u, p),
                    None => proxy,
                })
            }
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(self.tcp_keepalive);
        http.set_connect_timeout(self.connect_timeout);
        let tls = self.tls.build()?;
        let https = hyper_rustls::HttpsConnector::from((Connector::new(http, proxy), tls));
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_node)
            .pool_timer(TokioTimer::new())
            .build(https);

        let sniffing = self.sniff.enabled();
        let trigger = Arc::new(Notify::new());
        let pool = Arc::new(Pool::new(
            nodes,
            self.selector.clone(),
            self.dead,
            (sniffing && self.sniff.on_failure).then(|| trigger.clone()),
        ));

        let user_agent = self.user_agent.clone().unwrap_or_else(|| {
            format!(
                "elasticsearch-rs/{} (rust {}; {}; {})",
                self.client_version,
                RUSTC_VERSION,
                std::env::consts::OS,
                std::env::consts::ARCH
            )
        });
        let user_agent = HeaderValue::try_from(user_agent)
            .map_err(|_| Error::config("the User-Agent is not a valid header value"))?;
        let meta = self.meta_enabled.then(|| {
            format!(
                "es={},rs={},t={}",
                meta_version(&self.client_version),
                RUSTC_VERSION,
                meta_version(env!("CARGO_PKG_VERSION"))
            )
        });
        let headers = HeaderSettings::new(user_agent, meta, self.compatibility, self.headers);
        let request_timeout = self.retry.request_timeout;
        let user_layers = UserLayers(self.layers);

        let service = ServiceBuilder::new()
            .option_layer(
                self.max_concurrent_requests
                    .map(GlobalConcurrencyLimitLayer::new),
            )
            .layer(TraceLayer)
            .option_layer(self.product_check.then(ProductCheckLayer::new))
            .layer(HeadersLayer::new(headers))
            .layer(AuthLayer::new(credentials.clone()))
            .layer(CompressionLayer::new(self.gzip_requests))
            .layer(user_layers)
            .layer(RetryLayer::new(self.retry))
            .layer(PoolLayer::new(pool.clone()))
            .layer(TimeoutLayer::new(request_timeout))
            .service(HttpSend::new(client));

        Ok(Transport::from_parts(
            BoxCloneSyncService::new(service),
            pool,
            credentials,
            self.sniff,
            sniffing.then_some(trigger),
        ))
    }
}

/// Applies the user's layers to the lower part of the stack.
#[derive(Clone)]
struct UserLayers(Vec<UserLayer>);

impl<S> Layer<S> for UserLayers
where
    S: Service<http::Request<Bytes>, Response = http::Response<Bytes>, Error = crate::Error>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Service = BoxedService;

    fn layer(&self, inner: S) -> Self::Service {
        self.0
            .iter()
            .fold(BoxCloneSyncService::new(inner), |service, layer| {
                layer(service)
            })
    }
}
