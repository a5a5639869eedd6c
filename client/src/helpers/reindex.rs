//! Copies documents from one index to another on the client side: a [`Scan`] of the
//! source (possibly on another cluster) feeds a [`BulkIngester`] on the target, with
//! an optional per-document transform.
//!
//! ```no_run
//! # async fn example() -> Result<(), elasticsearch_client::Error> {
//! use elasticsearch_client::helpers::reindex::Reindex;
//! use elasticsearch_client::Client;
//! use serde_json::json;
//!
//! let source = Client::new("http://old-cluster:9200")?;
//! let target = Client::new("http://127.0.0.1:9200")?;
//! let report = Reindex::new(source, "books", "books-v2")
//!     .target_client(target)
//!     .query(json!({"term": {"lang": "en"}}))
//!     .transform(|hit| {
//!         let mut doc = hit.source?;
//!         doc["migrated"] = json!(true);
//!         Some(doc)
//!     })
//!     .run()
//!     .await?;
//! println!("{} copied, {} failed", report.indexed, report.failed);
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde_json::Value;

use super::bulk::{BulkFailure, BulkIngester, BulkIngesterBuilder, BulkOperation, BulkStats};
use super::scan::{Hit, Scan};
use crate::{Client, Error};

type Transform = Arc<dyn Fn(Hit<Value>) -> Option<Value> + Send + Sync>;
type Configure = Box<dyn FnOnce(BulkIngesterBuilder<()>) -> BulkIngesterBuilder<()> + Send>;

/// How many failures a [`ReindexReport`] keeps in full.
const KEPT_FAILURES: usize = 100;

/// Configures a reindex. Documents keep their id and routing.
pub struct Reindex {
    source: Client,
    target: Option<Client>,
    source_index: String,
    target_index: String,
    scan: Option<Box<dyn FnOnce(Scan) -> Scan + Send>>,
    query: Option<Value>,
    transform: Option<Transform>,
    create: bool,
    configure: Option<Configure>,
}

impl fmt::Debug for Reindex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reindex")
            .field("source_index", &self.source_index)
            .field("target_index", &self.target_index)
            .field("query", &self.query)
            .field("create", &self.create)
            .finish_non_exhaustive()
    }
}

/// What a reindex did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReindexReport {
    /// Hits read from the source.
    pub scanned: u64,
    /// Hits the transform dropped.
    pub skipped: u64,
    /// Documents written to the target.
    pub indexed: u64,
    /// Documents the target refused.
    pub failed: u64,
    /// The first failures, in full (at most 100).
    pub failures: Vec<BulkFailure>,
    /// The bulk ingester's totals.
    pub bulk: BulkStats,
}

impl Reindex {
    /// Copies `source_index` into `target_index`, on the same cluster unless
    /// [`target_client`](Self::target_client) is set.
    pub fn new(
        source: Client,
        source_index: impl Into<String>,
        target_index: impl Into<String>,
    ) -> Self {
        Reindex {
            source,
            target: None,
            source_index: source_index.into(),
            target_index: target_index.into(),
            scan: None,
            query: None,
            transform: None,
            create: false,
            configure: None,
        }
    }

    /// Writes to another cluster.
    pub fn target_client(mut self, target: Client) -> Self {
        self.target = Some(target);
        self
    }

    /// Copies only the documents matching `query`.
    pub fn query(mut self, query: Value) -> Self {
        self.query = Some(query);
        self
    }

    /// Changes or drops each document: the returned value is written, `None` skips it.
    pub fn transform(
        mut self,
        f: impl Fn(Hit<Value>) -> Option<Value> + Send + Sync + 'static,
    ) -> Self {
        self.transform = Some(Arc::new(f));
        self
    }

    /// Writes with `create` instead of `index` — required for data streams; existing
    /// ids then fail with 409 instead of being overwritten.
    pub fn op_type_create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Adjusts the scan (page size, keep-alive, point in time, slices).
    pub fn configure_scan(mut self, f: impl FnOnce(Scan) -> Scan + Send + 'static) -> Self {
        self.scan = Some(Box::new(f));
        self
    }

    /// Adjusts the bulk ingester (request size, concurrency, retries, dead letters).
    pub fn configure_bulk(
        mut self,
        f: impl FnOnce(BulkIngesterBuilder<()>) -> BulkIngesterBuilder<()> + Send + 'static,
    ) -> Self {
        self.configure = Some(Box::new(f));
        self
    }

    /// Runs the copy. A failing scan stops it with that error once the documents read
    /// so far have been written; refused documents are counted in the report.
    pub async fn run(self) -> Result<ReindexReport, Error> {
        let target = self.target.unwrap_or_else(|| self.source.clone());
        let mut scan = Scan::new(self.source).index(self.source_index);
        if let Some(query) = self.query {
            scan = scan.query(query);
        }
        if let Some(f) = self.scan {
            scan = f(scan);
        }
        let failures = Arc::new(Mutex::new(Vec::new()));
        let kept = failures.clone();
        let mut builder = BulkIngester::builder(target)
            .index(self.target_index)
            .on_outcome(move |outcome| {
                if let Some(failure) = outcome.failure() {
                    if let Ok(mut kept) = kept.lock() {
                        if kept.len() < KEPT_FAILURES {
                            kept.push(failure.clone());
                        }
                    }
                }
            });
        if let Some(f) = self.configure {
            builder = f(builder);
        }
        let ingester = builder.build();
        let (mut scanned, mut skipped) = (0u64, 0u64);
        let mut scan_error = None;
        let mut hits = scan.hits::<Value>();
        while let Some(hit) = hits.next().await {
            let hit = match hit {
                Ok(hit) => hit,
                Err(e) => {
                    scan_error = Some(e);
                    break;
                }
            };
            scanned += 1;
            let (id, routing) = (hit.id.clone(), hit.routing.clone());
            let doc = match &self.transform {
                Some(f) => f(hit),
                None => hit.source,
            };
            let Some(doc) = doc else {
                skipped += 1;
                continue;
            };
            let mut op = if self.create {
                BulkOperation::create(doc)
            } else {
                BulkOperation::index(doc)
            };
            if let Some(id) = id {
                op = op.id(id);
            }
            if let Some(routing) = routing {
                op = op.routing(routing);
            }
            ingester.add(op).await;
        }
        drop(hits);
        let bulk = ingester.close().await;
        if let Some(e) = scan_error {
            return Err(e);
        }
        let failures = failures
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        Ok(ReindexReport {
            scanned,
            skipped,
            indexed: bulk.successes,
            failed: bulk.failures,
            failures,
            bulk,
        })
    }
}
