//! A bulk ingester that never loses an operation.
//!
//! [`BulkIngester`] takes operations one by one ([`BulkIngester::add`]) or from a
//! [`Stream`] ([`BulkIngester::add_all`], [`BulkIngesterBuilder::ingest`]), groups them
//! into `_bulk` requests, sends several requests at once, retries what may be retried,
//! and delivers **exactly one [`BulkOutcome`] per operation**, carrying the caller's
//! key: as a stream, to a callback, and (failures) to an optional dead-letter sink.
//!
//! # Defaults
//!
//! | setting | default | builder method |
//! |---|---|---|
//! | operations per request | 5000 | [`max_operations`](BulkIngesterBuilder::max_operations) |
//! | bytes per request | 5 MiB | [`max_bytes`](BulkIngesterBuilder::max_bytes) |
//! | flush interval (age of the oldest waiting operation) | 1 s | [`flush_interval`](BulkIngesterBuilder::flush_interval) |
//! | concurrent requests | 4 | [`concurrency`](BulkIngesterBuilder::concurrency) |
//! | in-flight byte budget | (concurrency + 1) × bytes per request | [`max_in_flight_bytes`](BulkIngesterBuilder::max_in_flight_bytes) |
//! | retries per operation | 5 | [`max_retries`](BulkIngesterBuilder::max_retries) |
//! | backoff | 200 ms doubling up to 10 s, jittered | [`backoff`](BulkIngesterBuilder::backoff) |
//! | outcomes buffered for the stream | 1024 | [`outcome_buffer`](BulkIngesterBuilder::outcome_buffer) |
//!
//! # What is retried
//!
//! * An item answered `429` (the node's write queue is full) is sent again, alone
//!   with the other rejected items of its request — never the items that succeeded.
//! * A whole request answered `429`, `502`, `503` or `504`, or that got no response
//!   (connection refused or reset, timeout), is sent again.
//!
//! Retries wait `initial × 2^(n-1)` capped at the maximum, scaled by a random factor
//! in `[0.5, 1]`. Every other failure is reported at once and never retried: a
//! mapping error (400) or a version conflict (409) would fail again. The transport's
//! own 429 retries are switched off for these requests, so nothing is retried twice.
//!
//! A request answered `413` (too large) is split in halves, which are sent on their
//! own; an operation that is too large alone is reported failed with status 413.
//!
//! A connection error after the server applied a request cannot be told from one
//! before: the retry then applies the operations again. With ids this overwrites the
//! same documents (a `create` reports a 409 conflict); without ids it may duplicate
//! documents — give ids when that matters.
//!
//! # Memory
//!
//! Operations hold a share of the in-flight byte budget from [`add`](BulkIngester::add)
//! until their outcome has been delivered; `add` waits while the budget is spent, so
//! memory stays bounded whatever the size of the input. An operation larger than a
//! request counts as one request's worth.
//!
//! # Example
//!
//! ```no_run
//! # async fn example() -> Result<(), elasticsearch_client::Error> {
//! use elasticsearch_client::helpers::bulk::{BulkIngester, BulkOperation};
//! use elasticsearch_client::Client;
//! use futures::StreamExt;
//! use serde_json::json;
//!
//! let client = Client::new("http://127.0.0.1:9200")?;
//! let (ingester, mut outcomes) = BulkIngester::builder(client)
//!     .index("books")
//!     .max_operations(500)
//!     .build_with_outcomes();
//!
//! let report = tokio::spawn(async move {
//!     while let Some(outcome) = outcomes.next().await {
//!         if let Err(failure) = &outcome.result {
//!             eprintln!("book {} failed: {} {}", outcome.key, failure.error_type, failure.reason);
//!         }
//!     }
//! });
//! for n in 0..10_000u32 {
//!     let op = BulkOperation::index(json!({"n": n})).id(n.to_string()).key(n);
//!     ingester.add(op).await;
//! }
//! let stats = ingester.close().await;
//! report.await.ok();
//! println!("{} indexed, {} failed", stats.successes, stats.failures);
//! # Ok(()) }
//! ```

mod operation;
mod outcome;
mod response;

use std::fmt;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use http::Method;
use rand::Rng;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use self::operation::{BulkAction, BulkOperation, VersionType};
use self::outcome::StatsCounters;
pub use self::outcome::{BulkFailure, BulkOutcome, BulkStats, BulkSuccess};
use self::response::{ItemResult, ItemSuccess};
use crate::runtime::UrlBuilder;
use crate::{ApiError, CallOptions, Client, RequestBody};

const DEFAULT_MAX_OPERATIONS: usize = 5000;
const DEFAULT_MAX_BYTES: usize = 5 * 1024 * 1024;
const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_CONCURRENCY: usize = 4;
const DEFAULT_MAX_RETRIES: u32 = 5;
const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(200);
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(10);
const DEFAULT_OUTCOME_BUFFER: usize = 1024;

type OutcomeCallback<K> = Arc<dyn Fn(&BulkOutcome<K>) + Send + Sync>;
type ProgressCallback = Arc<dyn Fn(&BulkStats) + Send + Sync>;

/// Configures and builds a [`BulkIngester`]. See the [module docs](self) for defaults.
pub struct BulkIngesterBuilder<K> {
    client: Client,
    index: Option<String>,
    params: Vec<(String, String)>,
    max_operations: usize,
    max_bytes: usize,
    flush_interval: Option<Duration>,
    concurrency: usize,
    max_in_flight_bytes: Option<usize>,
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    outcome_buffer: usize,
    call_options: CallOptions,
    on_outcome: Option<OutcomeCallback<K>>,
    on_progress: Option<ProgressCallback>,
    dead_letter: Option<Box<dyn Write + Send>>,
}

impl<K> fmt::Debug for BulkIngesterBuilder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkIngesterBuilder")
            .field("index", &self.index)
            .field("params", &self.params)
            .field("max_operations", &self.max_operations)
            .field("max_bytes", &self.max_bytes)
            .field("flush_interval", &self.flush_interval)
            .field("concurrency", &self.concurrency)
            .field("max_in_flight_bytes", &self.max_in_flight_bytes)
            .field("max_retries", &self.max_retries)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("outcome_buffer", &self.outcome_buffer)
            .finish_non_exhaustive()
    }
}

impl<K: Send + 'static> BulkIngesterBuilder<K> {
    /// The default index: requests go to `/{index}/_bulk`, and operations without an
    /// index of their own go there.
    pub fn index(mut self, index: impl Into<String>) -> Self {
        self.index = Some(index.into());
        self
    }

    /// The default ingest pipeline (`pipeline` request parameter).
    pub fn pipeline(self, pipeline: impl Into<String>) -> Self {
        self.query_param("pipeline", pipeline)
    }

    /// The `refresh` request parameter (`true`, `false` or `wait_for`) for every request.
    pub fn refresh(self, refresh: impl Into<String>) -> Self {
        self.query_param("refresh", refresh)
    }

    /// Adds any query parameter of the bulk API (`require_alias`, `routing`,
    /// `timeout`, `wait_for_active_shards`, …) to every request.
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Sends a request once it holds this many operations (at least 1).
    pub fn max_operations(mut self, n: usize) -> Self {
        self.max_operations = n.max(1);
        self
    }

    /// Sends a request before its NDJSON body would grow past this many bytes.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes.max(1);
        self
    }

    /// Sends waiting operations once the oldest has waited this long; `None` waits
    /// for a full request (or [`close`](BulkIngester::close)).
    pub fn flush_interval(mut self, interval: Option<Duration>) -> Self {
        self.flush_interval = interval;
        self
    }

    /// How many requests may be in flight at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The byte budget of operations accepted but without an outcome yet
    /// (at least twice [`max_bytes`](Self::max_bytes)).
    pub fn max_in_flight_bytes(mut self, bytes: usize) -> Self {
        self.max_in_flight_bytes = Some(bytes);
        self
    }

    /// How many times one operation is sent again after a retryable failure.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first retry delay and the largest one.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The per-request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.call_options.timeout = Some(timeout);
        self
    }

    /// Options (headers, `X-Opaque-Id`, …) for every request.
    pub fn call_options(mut self, options: CallOptions) -> Self {
        self.call_options = options;
        self
    }

    /// How many outcomes may wait unread in the stream of
    /// [`build_with_outcomes`](Self::build_with_outcomes) before the ingester waits
    /// for the reader.
    pub fn outcome_buffer(mut self, n: usize) -> Self {
        self.outcome_buffer = n.max(1);
        self
    }

    /// Calls `f` with every outcome as it is decided, before it goes to the stream.
    /// It runs on the ingester's tasks: keep it short.
    pub fn on_outcome(mut self, f: impl Fn(&BulkOutcome<K>) + Send + Sync + 'static) -> Self {
        self.on_outcome = Some(Arc::new(f));
        self
    }

    /// Calls `f` with the running totals after every response.
    pub fn on_progress(mut self, f: impl Fn(&BulkStats) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    /// Writes every failed operation to `sink` as one NDJSON line:
    /// `{"status":…,"error":{"type":…,"reason":…},"attempts":…,"action":{…},"source":{…}}`
    /// (`source` absent for deletes and unserializable documents). The sink is
    /// flushed when the ingester finishes.
    pub fn dead_letter(mut self, sink: impl Write + Send + 'static) -> Self {
        self.dead_letter = Some(Box::new(sink));
        self
    }

    /// Builds the ingester; outcomes go to the callback and dead-letter sink only.
    /// Must be called within a Tokio runtime.
    pub fn build(self) -> BulkIngester<K> {
        self.start(false).0
    }

    /// Builds the ingester and the stream of its outcomes. Read the stream
    /// concurrently with adding operations: when [`outcome_buffer`](Self::outcome_buffer)
    /// outcomes wait unread, the ingester waits too. The stream ends after
    /// [`close`](BulkIngester::close) once every outcome was delivered.
    /// Must be called within a Tokio runtime.
    pub fn build_with_outcomes(self) -> (BulkIngester<K>, BulkOutcomes<K>) {
        let (ingester, outcomes) = self.start(true);
        let outcomes = outcomes.expect("requested");
        (ingester, outcomes)
    }

    /// Ingests a whole stream of operations: the returned stream yields one outcome
    /// per operation and ends when all are done; [`BulkOutcomes::stats`] then gives
    /// the totals. Dropping the returned stream does not cancel the ingestion.
    pub fn ingest<S>(self, operations: S) -> BulkOutcomes<K>
    where
        S: Stream<Item = BulkOperation<K>> + Send + 'static,
    {
        let (ingester, outcomes) = self.build_with_outcomes();
        tokio::spawn(async move {
            ingester.add_all(operations).await;
            ingester.close().await;
        });
        outcomes
    }

    fn start(self, with_stream: bool) -> (BulkIngester<K>, Option<BulkOutcomes<K>>) {
        let mut url = UrlBuilder::new();
        if let Some(index) = &self.index {
            url.literal("/").part(index);
        }
        url.literal("/_bulk");
        for (name, value) in &self.params {
            url.param(name, value);
        }
        let budget = self
            .max_in_flight_bytes
            .unwrap_or((self.concurrency + 1).saturating_mul(self.max_bytes))
            .max(self.max_bytes.saturating_mul(2))
            .min(Semaphore::MAX_PERMITS);
        let mut call_options = self.call_options;
        // The ingester retries itself, item by item: the transport must not retry these
        // requests too (a transport retry would resend items that were applied).
        call_options.transport.retry_on_429 = Some(false);
        call_options.transport.max_retries = Some(0);
        call_options.transport.client_meta = Some("h=bp".to_string());
        let stats = Arc::new(StatsCounters::new());
        let (outcome_tx, outcome_rx) = if with_stream {
            let (tx, rx) = mpsc::channel(self.outcome_buffer);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let shared = Arc::new(Shared {
            client: self.client,
            url: url.finish(),
            call_options,
            max_operations: self.max_operations,
            max_bytes: self.max_bytes,
            flush_interval: self.flush_interval,
            concurrency: self.concurrency,
            max_retries: self.max_retries,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
            budget: Arc::new(Semaphore::new(budget)),
            stats: stats.clone(),
            sink: Sink {
                outcomes: outcome_tx,
                on_outcome: self.on_outcome,
                on_progress: self.on_progress,
                dead_letter: self.dead_letter.map(Mutex::new),
            },
        });
        let (tx, rx) = mpsc::channel(self.max_operations.min(4096));
        let driver = tokio::spawn(drive(shared.clone(), rx));
        let ingester = BulkIngester { tx, shared, driver };
        let outcomes = outcome_rx.map(|rx| BulkOutcomes { rx, stats });
        (ingester, outcomes)
    }
}

/// Sends bulk operations in batches and reports one outcome per operation.
/// See the [module docs](self).
pub struct BulkIngester<K> {
    tx: mpsc::Sender<Prepared<K>>,
    shared: Arc<Shared<K>>,
    driver: tokio::task::JoinHandle<()>,
}

impl<K> fmt::Debug for BulkIngester<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkIngester")
            .field("url", &self.shared.url)
            .field("stats", &self.shared.stats.snapshot())
            .finish_non_exhaustive()
    }
}

impl BulkIngester<()> {
    /// A builder with the defaults of the [module docs](self).
    pub fn builder<K: Send + 'static>(client: Client) -> BulkIngesterBuilder<K> {
        BulkIngesterBuilder {
            client,
            index: None,
            params: Vec::new(),
            max_operations: DEFAULT_MAX_OPERATIONS,
            max_bytes: DEFAULT_MAX_BYTES,
            flush_interval: Some(DEFAULT_FLUSH_INTERVAL),
            concurrency: DEFAULT_CONCURRENCY,
            max_in_flight_bytes: None,
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            outcome_buffer: DEFAULT_OUTCOME_BUFFER,
            call_options: CallOptions::default(),
            on_outcome: None,
            on_progress: None,
            dead_letter: None,
        }
    }
}

impl<K: Send + 'static> BulkIngester<K> {
    /// Adds one operation. Waits while the in-flight byte budget is spent
    /// (back-pressure). Its outcome is delivered later; an operation that cannot be
    /// serialized gets its failed outcome at once.
    pub async fn add(&self, operation: BulkOperation<K>) {
        let shared = &self.shared;
        StatsCounters::add(&shared.stats.operations, 1);
        let (lines, error) = operation.prepare_lines();
        let id = operation.doc_id().map(str::to_owned);
        let BulkOperation { key, action, .. } = operation;
        if let Some(reason) = error {
            let outcome = failure(key, action, 0, None, "serialization_error", reason, lines);
            shared.deliver(outcome).await;
            return;
        }
        StatsCounters::add(&shared.stats.bytes, lines.len() as u64);
        let permits = lines.len().clamp(1, shared.max_bytes) as u32;
        // The budget is never closed, so the permit always comes.
        let permit = shared.budget.clone().acquire_many_owned(permits).await.ok();
        let prepared = Prepared {
            key,
            action,
            id,
            lines,
            attempts: 0,
            retries: 0,
            _permit: permit,
        };
        if let Err(mpsc::error::SendError(op)) = self.tx.send(prepared).await {
            let outcome = failure(
                op.key,
                op.action,
                0,
                None,
                "ingester_stopped",
                "the ingester stopped before the operation was sent".to_string(),
                op.lines,
            );
            shared.deliver(outcome).await;
        }
    }

    /// Adds every operation of `operations`, in order, with back-pressure.
    pub async fn add_all<S>(&self, operations: S)
    where
        S: Stream<Item = BulkOperation<K>>,
    {
        let mut operations = std::pin::pin!(operations);
        while let Some(op) = operations.next().await {
            self.add(op).await;
        }
    }

    /// The running totals.
    pub fn stats(&self) -> BulkStats {
        self.shared.stats.snapshot()
    }

    /// Sends what is waiting, waits until every operation has its outcome, and
    /// returns the totals. Dropping the ingester without closing it also sends what
    /// is waiting, in the background.
    pub async fn close(self) -> BulkStats {
        let BulkIngester {
            tx, shared, driver, ..
        } = self;
        drop(tx);
        let stats = shared.stats.clone();
        drop(shared);
        if let Err(e) = driver.await {
            tracing::error!(error = %e, "the bulk ingester's task failed");
        }
        stats.snapshot()
    }
}

/// The stream of outcomes of a [`BulkIngester`]: one per operation.
pub struct BulkOutcomes<K> {
    rx: mpsc::Receiver<BulkOutcome<K>>,
    stats: Arc<StatsCounters>,
}

impl<K> BulkOutcomes<K> {
    /// The running totals of the ingester (final once the stream has ended).
    pub fn stats(&self) -> BulkStats {
        self.stats.snapshot()
    }
}

impl<K> fmt::Debug for BulkOutcomes<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkOutcomes")
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

impl<K> Stream for BulkOutcomes<K> {
    type Item = BulkOutcome<K>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// An operation inside the ingester.
struct Prepared<K> {
    key: K,
    action: BulkAction,
    /// The `_id` of the action line, for checking response items.
    id: Option<String>,
    lines: Bytes,
    attempts: u32,
    retries: u32,
    _permit: Option<OwnedSemaphorePermit>,
}

struct Sink<K> {
    outcomes: Option<mpsc::Sender<BulkOutcome<K>>>,
    on_outcome: Option<OutcomeCallback<K>>,
    on_progress: Option<ProgressCallback>,
    dead_letter: Option<Mutex<Box<dyn Write + Send>>>,
}

struct Shared<K> {
    client: Client,
    url: String,
    call_options: CallOptions,
    max_operations: usize,
    max_bytes: usize,
    flush_interval: Option<Duration>,
    concurrency: usize,
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    budget: Arc<Semaphore>,
    stats: Arc<StatsCounters>,
    sink: Sink<K>,
}

fn failure<K>(
    key: K,
    action: BulkAction,
    attempts: u32,
    status: Option<u16>,
    error_type: &str,
    reason: String,
    operation: Bytes,
) -> BulkOutcome<K> {
    BulkOutcome {
        key,
        action,
        attempts,
        result: Err(BulkFailure {
            status,
            error_type: error_type.to_string(),
            reason,
            attempts,
            operation,
        }),
    }
}

/// Why a whole request failed.
#[derive(Clone)]
struct RequestFailure {
    status: Option<u16>,
    error_type: String,
    reason: String,
    retryable: bool,
}

impl<K: Send + 'static> Shared<K> {
    async fn deliver(&self, outcome: BulkOutcome<K>) {
        let counter = if outcome.is_success() {
            &self.stats.successes
        } else {
            &self.stats.failures
        };
        StatsCounters::add(counter, 1);
        if let (Err(failure), Some(sink)) = (&outcome.result, &self.sink.dead_letter) {
            self.write_dead_letter(sink, failure);
        }
        if let Some(f) = &self.sink.on_outcome {
            // A panicking callback must not take the other outcomes of the batch with it.
            if catch_unwind(AssertUnwindSafe(|| f(&outcome))).is_err() {
                tracing::error!("the bulk outcome callback panicked");
            }
        }
        if let Some(tx) = &self.sink.outcomes {
            // A reader that went away no longer wants outcomes.
            let _ = tx.send(outcome).await;
        }
    }

    fn write_dead_letter(&self, sink: &Mutex<Box<dyn Write + Send>>, failure: &BulkFailure) {
        let line = dead_letter_line(failure);
        let mut sink = match sink.lock() {
            Ok(sink) => sink,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(e) = sink.write_all(&line) {
            tracing::warn!(error = %e, "could not write to the bulk dead-letter sink");
        }
    }

    fn progress(&self) {
        if let Some(f) = &self.sink.on_progress {
            let stats = self.stats.snapshot();
            if catch_unwind(AssertUnwindSafe(|| f(&stats))).is_err() {
                tracing::error!("the bulk progress callback panicked");
            }
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        base.mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    /// Sends one request; `Ok` holds the body of a 2xx answer.
    async fn send(&self, body: Bytes) -> Result<Bytes, RequestFailure> {
        StatsCounters::add(&self.stats.requests, 1);
        StatsCounters::add(&self.stats.bytes_sent, body.len() as u64);
        let result = self
            .client
            .request(
                Method::POST,
                &self.url,
                Some(RequestBody::Ndjson(body)),
                &self.call_options,
            )
            .await;
        match result {
            Ok(response) if response.status.is_success() => Ok(response.body),
            Ok(response) => {
                let status = response.status.as_u16();
                let error = ApiError::new("bulk", status, response.body);
                let reason = error.reason.clone().unwrap_or_else(|| {
                    let text = String::from_utf8_lossy(&error.body);
                    let text: String = text.chars().take(300).collect();
                    if text.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        text
                    }
                });
                Err(RequestFailure {
                    status: Some(status),
                    error_type: error
                        .error_type
                        .clone()
                        .unwrap_or_else(|| format!("http_{status}")),
                    reason,
                    retryable: matches!(status, 429 | 502 | 503 | 504),
                })
            }
            Err(e) => {
                let retryable = e.is_transport();
                Err(RequestFailure {
                    status: None,
                    error_type: if retryable {
                        "transport_error".to_string()
                    } else {
                        "request_error".to_string()
                    },
                    reason: error_chain(&e),
                    retryable,
                })
            }
        }
    }

    /// Sends `ops` until every one has an outcome.
    async fn run_batch(&self, ops: Vec<Prepared<K>>) {
        let mut work = vec![ops];
        while let Some(mut current) = work.pop() {
            while !current.is_empty() {
                let mut body = BytesMut::with_capacity(current.iter().map(|o| o.lines.len()).sum());
                for op in &mut current {
                    op.attempts += 1;
                    body.extend_from_slice(&op.lines);
                }
                let result = self.send(body.freeze()).await;
                let retry = match result {
                    Ok(body) => self.settle_items(current, &body).await,
                    Err(f) if f.status == Some(413) => {
                        if current.len() > 1 {
                            let second = current.split_off(current.len() / 2);
                            work.push(second);
                            work.push(current);
                        } else {
                            for op in current {
                                let reason = format!(
                                    "the operation alone ({} bytes) is larger than the server accepts: {}",
                                    op.lines.len(),
                                    f.reason
                                );
                                self.fail(op, Some(413), "request_too_large", reason).await;
                            }
                        }
                        Vec::new()
                    }
                    Err(f) if f.retryable => {
                        let mut retry = Vec::with_capacity(current.len());
                        for op in current {
                            if op.retries < self.max_retries {
                                retry.push(op);
                            } else {
                                let reason =
                                    format!("{} (after {} attempts)", f.reason, op.attempts);
                                self.fail(op, f.status, &f.error_type, reason).await;
                            }
                        }
                        retry
                    }
                    Err(f) => {
                        for op in current {
                            self.fail(op, f.status, &f.error_type, f.reason.clone())
                                .await;
                        }
                        Vec::new()
                    }
                };
                self.progress();
                current = retry;
                if let Some(retries) = current.iter().map(|o| o.retries).max() {
                    StatsCounters::add(&self.stats.retries, current.len() as u64);
                    for op in &mut current {
                        op.retries += 1;
                    }
                    tokio::time::sleep(self.backoff(retries + 1)).await;
                }
            }
        }
    }

    async fn fail(&self, op: Prepared<K>, status: Option<u16>, error_type: &str, reason: String) {
        let Prepared {
            key,
            action,
            lines,
            attempts,
            ..
        } = op;
        self.deliver(failure(
            key, action, attempts, status, error_type, reason, lines,
        ))
        .await;
    }

    /// Delivers the outcome of every item of a 2xx answer; returns the operations to
    /// send again.
    async fn settle_items(&self, ops: Vec<Prepared<K>>, body: &[u8]) -> Vec<Prepared<K>> {
        let items = match response::parse_items(body) {
            Ok(items) => items,
            Err(reason) => {
                for op in ops {
                    self.fail(op, None, "unreadable_response", reason.clone())
                        .await;
                }
                return Vec::new();
            }
        };
        let sent = ops.len();
        if items.len() != sent {
            tracing::warn!(
                sent,
                received = items.len(),
                "the bulk response has a different number of items than operations sent"
            );
        }
        let mut items = items.into_iter();
        let mut retry = Vec::new();
        for op in ops {
            let Some(item) = items.next() else {
                let reason = format!(
                    "the bulk response has no item for this operation ({sent} sent, fewer items received)"
                );
                self.fail(op, None, "missing_response_item", reason).await;
                continue;
            };
            if item.action.is_some_and(|a| a != op.action)
                || matches!((&op.id, &item.id), (Some(sent), Some(got)) if sent != got)
            {
                let reason = format!(
                    "the response item ({} {:?}) does not match the operation ({} {:?})",
                    item.action.map_or("unknown", BulkAction::as_str),
                    item.id,
                    op.action,
                    op.id
                );
                self.fail(op, None, "mismatched_response_item", reason)
                    .await;
                continue;
            }
            match item.result {
                ItemResult::Success(success) => {
                    let ItemSuccess {
                        status,
                        result,
                        index,
                        id,
                        version,
                        seq_no,
                        primary_term,
                    } = success;
                    let outcome = BulkOutcome {
                        key: op.key,
                        action: op.action,
                        attempts: op.attempts,
                        result: Ok(BulkSuccess {
                            status,
                            result,
                            index,
                            id,
                            version,
                            seq_no,
                            primary_term,
                        }),
                    };
                    self.deliver(outcome).await;
                }
                ItemResult::Failure {
                    status: Some(429), ..
                } if op.retries < self.max_retries => retry.push(op),
                ItemResult::Failure {
                    status,
                    error_type,
                    reason,
                } => self.fail(op, status, &error_type, reason).await,
            }
        }
        retry
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

fn dead_letter_line(failure: &BulkFailure) -> Vec<u8> {
    use serde_json::value::RawValue;
    #[derive(serde::Serialize)]
    struct Error<'a> {
        #[serde(rename = "type")]
        error_type: &'a str,
        reason: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Line<'a> {
        status: Option<u16>,
        error: Error<'a>,
        attempts: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        action: Option<&'a RawValue>,
        #[serde(skip_serializing_if = "Option::is_none")]
        source: Option<&'a RawValue>,
    }
    fn raw(bytes: Option<&[u8]>) -> Option<&RawValue> {
        let text = std::str::from_utf8(bytes?).ok()?;
        serde_json::from_str(text).ok()
    }
    let line = Line {
        status: failure.status,
        error: Error {
            error_type: &failure.error_type,
            reason: &failure.reason,
        },
        attempts: failure.attempts,
        action: raw(Some(failure.action_line()).filter(|l| !l.is_empty())),
        source: raw(failure.source_line()),
    };
    let mut out = serde_json::to_vec(&line).unwrap_or_default();
    out.push(b'\n');
    out
}

/// The ingester's dispatcher: groups operations into requests and runs up to
/// `concurrency` of them.
async fn drive<K: Send + 'static>(shared: Arc<Shared<K>>, mut rx: mpsc::Receiver<Prepared<K>>) {
    let slots = Arc::new(Semaphore::new(shared.concurrency));
    let mut tasks = JoinSet::new();
    let mut batch: Vec<Prepared<K>> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut deadline: Option<Instant> = None;

    let dispatch =
        |batch: Vec<Prepared<K>>, tasks: &mut JoinSet<()>, slot: OwnedSemaphorePermit| {
            let shared = shared.clone();
            tasks.spawn(async move {
                shared.run_batch(batch).await;
                drop(slot);
            });
        };

    loop {
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let flush = tokio::select! {
            op = rx.recv() => match op {
                Some(op) => {
                    let len = op.lines.len();
                    let mut flush = None;
                    if !batch.is_empty() && batch_bytes + len > shared.max_bytes {
                        flush = Some(std::mem::take(&mut batch));
                        batch_bytes = 0;
                    }
                    if batch.is_empty() {
                        deadline = shared.flush_interval.map(|i| Instant::now() + i);
                    }
                    batch.push(op);
                    batch_bytes += len;
                    if flush.is_some() {
                        // Send the full batch first; the new operation starts the next one.
                        flush
                    } else if batch.len() >= shared.max_operations || batch_bytes >= shared.max_bytes {
                        batch_bytes = 0;
                        deadline = None;
                        Some(std::mem::take(&mut batch))
                    } else {
                        None
                    }
                }
                None => break,
            },
            _ = timer => {
                batch_bytes = 0;
                deadline = None;
                Some(std::mem::take(&mut batch))
            }
            Some(joined) = tasks.join_next() => {
                if let Err(e) = joined {
                    tracing::error!(error = %e, "a bulk request task failed");
                }
                None
            }
        };
        if let Some(full) = flush.filter(|b| !b.is_empty()) {
            let slot = wait_for_slot(&slots, &mut tasks).await;
            dispatch(full, &mut tasks, slot);
            // A batch that became full with its first operation is sent at once too.
            if batch.len() >= shared.max_operations || batch_bytes >= shared.max_bytes {
                let slot = wait_for_slot(&slots, &mut tasks).await;
                dispatch(std::mem::take(&mut batch), &mut tasks, slot);
                batch_bytes = 0;
                deadline = None;
            }
        }
    }
    if !batch.is_empty() {
        let slot = wait_for_slot(&slots, &mut tasks).await;
        dispatch(std::mem::take(&mut batch), &mut tasks, slot);
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "a bulk request task failed");
        }
    }
    shared.stats.finish();
    if let Some(sink) = &shared.sink.dead_letter {
        let mut sink = match sink.lock() {
            Ok(sink) => sink,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(e) = sink.flush() {
            tracing::warn!(error = %e, "could not flush the bulk dead-letter sink");
        }
    }
}

/// Waits for a free request slot, reaping finished tasks meanwhile.
async fn wait_for_slot(slots: &Arc<Semaphore>, tasks: &mut JoinSet<()>) -> OwnedSemaphorePermit {
    loop {
        tokio::select! {
            permit = slots.clone().acquire_owned() => {
                // The semaphore is never closed.
                if let Ok(permit) = permit {
                    return permit;
                }
            }
            Some(joined) = tasks.join_next() => {
                if let Err(e) = joined {
                    tracing::error!(error = %e, "a bulk request task failed");
                }
            }
        }
    }
}
