//! HTTP transport for Elasticsearch clusters.
//!
//! The transport carries `http::Request<Bytes>` values (URI = path and query only) to a
//! node of the cluster and returns the buffered `http::Response<Bytes>`. It knows
//! nothing of endpoints: any HTTP status the server sends is returned as a response,
//! after the retry policy ran; errors are reserved for failures to get one.
//!
//! It is a tower stack over hyper-util's pooled client:
//!
//! ```text
//! [concurrency limit] -> Trace -> [ProductCheck] -> Headers -> Auth -> Compression
//!     -> [user layers] -> Retry -> Pool -> Timeout -> HttpSend (hyper-util, rustls)
//! ```
//!
//! ```no_run
//! # async fn demo() -> Result<(), elasticsearch_transport::Error> {
//! use elasticsearch_transport::{Credentials, Transport};
//! let transport = Transport::builder()
//!     .nodes(["https://es1:9200", "https://es2:9200"])
//!     .credentials(Credentials::basic("elastic", "changeme"))
//!     .ca_fingerprint("AA:BB:...")
//!     .sniff_on_start(true)
//!     .build()?;
//! let response = transport.send(http::Request::get("/").body(bytes::Bytes::new()).unwrap()).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod auth;
mod builder;
pub mod compression;
mod connector;
mod error;
pub mod headers;
pub mod http_send;
mod node;
mod options;
pub mod pool;
pub mod product_check;
pub mod retry;
mod selector;
pub mod sniff;
pub mod timeout;
mod tls;
pub mod trace;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;
use tower::util::BoxCloneSyncService;
use tower::ServiceExt;

pub use auth::{Auth, AuthLayer, Credentials};
pub use builder::TransportBuilder;
pub use error::{Attempt, BoxError, Error};
pub use headers::Compatibility;
pub use node::{cloud_id_to_url, redact_url, Node};
pub use options::RequestOptions;
pub use pool::{DeadNodeBackoff, NodeStatus, ServedBy};
pub use selector::{Random, RoundRobin, Selector};
pub use sniff::{NodeFilter, SkipMasterOnly};
pub use tls::RootStore;

use crate::auth::CredentialStore;
use crate::pool::Pool;
use crate::sniff::SniffSettings;

/// The type-erased service the transport's stack is built from; user layers wrap it.
pub type BoxedService = BoxCloneSyncService<http::Request<Bytes>, http::Response<Bytes>, Error>;

/// A cheaply cloneable handle to a cluster (`Clone + Send + Sync`).
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    service: BoxedService,
    pool: Arc<Pool>,
    credentials: CredentialStore,
    sniff_settings: SniffSettings,
    sniffer: Option<Sniffer>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<String> = self
            .inner
            .pool
            .status()
            .iter()
            .map(|s| s.node.url().to_string())
            .collect();
        f.debug_struct("Transport")
            .field("nodes", &nodes)
            .field("credentials", &self.inner.credentials)
            .field(
                "sniffing",
                &self.inner.sniffer.as_ref().map(|s| &s.settings),
            )
            .finish_non_exhaustive()
    }
}

struct Sniffer {
    settings: SniffSettings,
    trigger: Arc<Notify>,
    started: OnceLock<()>,
    initial_done: Arc<AtomicBool>,
    initial: watch::Receiver<bool>,
    task_state: Mutex<Option<(watch::Sender<bool>, oneshot::Receiver<()>)>>,
    _shutdown: oneshot::Sender<()>,
}

impl Sniffer {
    fn new(settings: SniffSettings, trigger: Arc<Notify>) -> Self {
        let (initial_tx, initial) = watch::channel(!settings.on_start);
        let (shutdown, shutdown_rx) = oneshot::channel();
        Self {
            initial_done: Arc::new(AtomicBool::new(!settings.on_start)),
            settings,
            trigger,
            started: OnceLock::new(),
            initial,
            task_state: Mutex::new(Some((initial_tx, shutdown_rx))),
            _shutdown: shutdown,
        }
    }

    fn ensure_started(&self, service: &BoxedService, pool: &Arc<Pool>) {
        if self.started.get().is_some() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        self.started.get_or_init(|| {
            let state = self
                .task_state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some((initial_tx, shutdown)) = state {
                tokio::spawn(sniff_task(
                    service.clone(),
                    pool.clone(),
                    self.settings.clone(),
                    self.trigger.clone(),
                    initial_tx,
                    self.initial_done.clone(),
                    shutdown,
                ));
            }
        });
    }
}

async fn sniff_task(
    service: BoxedService,
    pool: Arc<Pool>,
    settings: SniffSettings,
    trigger: Arc<Notify>,
    initial_tx: watch::Sender<bool>,
    initial_done: Arc<AtomicBool>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut last_sniff: Option<Instant> = None;
    if settings.on_start {
        let _ = run_sniff(&service, &pool, &settings).await;
        last_sniff = Some(Instant::now());
        initial_done.store(true, Ordering::Release);
        let _ = initial_tx.send(true);
    }
    loop {
        let interval = async {
            match settings.interval {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let failure = async {
            if settings.on_failure {
                trigger.notified().await;
                if let Some(last) = last_sniff {
                    tokio::time::sleep_until(last + settings.min_delay_on_failure).await;
                }
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            _ = &mut shutdown => return,
            _ = interval => {}
            _ = failure => {}
        }
        let _ = run_sniff(&service, &pool, &settings).await;
        last_sniff = Some(Instant::now());
    }
}

async fn run_sniff(
    service: &BoxedService,
    pool: &Pool,
    settings: &SniffSettings,
) -> Result<usize, Error> {
    let result = sniff_once(service, pool, settings).await;
    match &result {
        Ok(n) => tracing::debug!(nodes = n, "sniffed the cluster"),
        Err(e) => tracing::warn!(error = %e, "sniffing failed; will retry at the next trigger"),
    }
    result
}

async fn sniff_once(
    service: &BoxedService,
    pool: &Pool,
    settings: &SniffSettings,
) -> Result<usize, Error> {
    let mut request = http::Request::get("/_nodes/_all/http")
        .header(http::header::ACCEPT, "application/json")
        .body(Bytes::new())
        .map_err(|e| Error::Service { source: e.into() })?;
    request.extensions_mut().insert(
        RequestOptions::new()
            .timeout(settings.timeout)
            .operation("nodes.info"),
    );
    let response = service.clone().oneshot(request).await?;
    let sniff_error = |reason: String| Error::Service {
        source: format!("sniffing failed: {reason}").into(),
    };
    if !response.status().is_success() {
        return Err(sniff_error(format!(
            "`GET /_nodes/_all/http` answered {}",
            response.status()
        )));
    }
    let seed = match response.extensions().get::<ServedBy>() {
        Some(ServedBy(node)) => node.clone(),
        None => pool
            .status()
            .first()
            .map(|s| s.node.clone())
            .ok_or_else(|| sniff_error("no node".into()))?,
    };
    let nodes = sniff::parse_nodes(response.body(), &seed, settings.filter.as_ref())
        .ok_or_else(|| sniff_error("the reply is not a nodes info document".into()))?;
    if nodes.is_empty() {
        return Err(sniff_error("the reply lists no usable HTTP node".into()));
    }
    let count = nodes.len();
    pool.replace(nodes);
    Ok(count)
}

impl Transport {
    /// A builder for a transport.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::new()
    }

    /// A transport to a single node with default settings, e.g. `http://127.0.0.1:9200`
    /// (userinfo in the URL becomes basic-auth credentials).
    pub fn single(url: &str) -> Result<Self, Error> {
        Self::builder().node(url).build()
    }

    fn from_parts(
        service: BoxedService,
        pool: Arc<Pool>,
        credentials: CredentialStore,
        sniff_settings: SniffSettings,
        trigger: Option<Arc<Notify>>,
    ) -> Self {
        let sniffer = trigger.map(|trigger| Sniffer::new(sniff_settings.clone(), trigger));
        let transport = Self {
            inner: Arc::new(Inner {
                service,
                pool,
                credentials,
                sniff_settings,
                sniffer,
            }),
        };
        if let Some(sniffer) = &transport.inner.sniffer {
            sniffer.ensure_started(&transport.inner.service, &transport.inner.pool);
        }
        transport
    }

    /// Sends a request whose URI holds only the path and query (`/index/_doc/1?refresh=true`).
    ///
    /// Per-request settings go in a [`RequestOptions`] extension. Any HTTP status is
    /// returned as `Ok` once the retry policy ran; `Err` means no response.
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, Error> {
        if let Some(sniffer) = &self.inner.sniffer {
            sniffer.ensure_started(&self.inner.service, &self.inner.pool);
            if !sniffer.initial_done.load(Ordering::Acquire) {
                let mut initial = sniffer.initial.clone();
                let _ = initial.wait_for(|done| *done).await;
            }
        }
        self.inner.service.clone().oneshot(request).await
    }

    /// Sniffs the cluster now and replaces the pool's membership; returns the number of
    /// nodes found.
    pub async fn sniff(&self) -> Result<usize, Error> {
        sniff_once(
            &self.inner.service,
            &self.inner.pool,
            &self.inner.sniff_settings,
        )
        .await
    }

    /// Replaces the credentials used by every later request (`None` removes them).
    pub fn set_credentials(&self, credentials: Option<Credentials>) -> Result<(), Error> {
        self.inner.credentials.set(credentials.as_ref())
    }

    /// The pool's nodes and their state.
    pub fn nodes(&self) -> Vec<NodeStatus> {
        self.inner.pool.status()
    }
}

impl tower_service::Service<http::Request<Bytes>> for Transport {
    type Response = http::Response<Bytes>;
    type Error = Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<http::Response<Bytes>, Error>> + Send>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Bytes>) -> Self::Future {
        let transport = self.clone();
        Box::pin(async move { transport.send(request).await })
    }
}
