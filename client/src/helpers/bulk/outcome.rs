//! What the ingester reports: one outcome per operation, and running totals.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::operation::BulkAction;

/// The result of one operation: exactly one is delivered for every operation given
/// to the ingester, whatever happened to its requests.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BulkOutcome<K> {
    /// The caller key of the operation.
    pub key: K,
    /// The operation's action.
    pub action: BulkAction,
    /// How many times the operation was sent (0 when it could not be sent at all).
    pub attempts: u32,
    /// Success or failure.
    pub result: Result<BulkSuccess, BulkFailure>,
}

impl<K> BulkOutcome<K> {
    /// True when the operation was applied.
    pub fn is_success(&self) -> bool {
        self.result.is_ok()
    }

    /// The failure, if the operation failed.
    pub fn failure(&self) -> Option<&BulkFailure> {
        self.result.as_ref().err()
    }

    /// The success, if the operation was applied.
    pub fn success(&self) -> Option<&BulkSuccess> {
        self.result.as_ref().ok()
    }
}

/// An applied operation, as the server reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkSuccess {
    /// The item's HTTP status (201 created, 200 updated, 404 for a delete of a
    /// missing document, whose `result` is `not_found`).
    pub status: u16,
    /// `created`, `updated`, `deleted`, `noop` or `not_found`.
    pub result: Option<String>,
    /// The index the document went to (the backing index for data streams).
    pub index: Option<String>,
    /// The document id (chosen by the server when none was given).
    pub id: Option<String>,
    /// The document version after the operation.
    pub version: Option<i64>,
    /// The sequence number of the operation.
    pub seq_no: Option<i64>,
    /// The primary term of the operation.
    pub primary_term: Option<i64>,
}

/// Why an operation was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkFailure {
    /// The HTTP status of the item, or of the whole request when that failed;
    /// `None` when no status applies (connection errors, unsendable operations,
    /// unreadable responses).
    pub status: Option<u16>,
    /// The server's error type (`document_parsing_exception`,
    /// `version_conflict_engine_exception`, …) or one of the ingester's own:
    /// `serialization_error` (never sent), `transport_error` (no response),
    /// `request_too_large` (413 for the operation alone), `unreadable_response`,
    /// `unreadable_response_item`, `missing_response_item`, `mismatched_response_item`,
    /// `ingester_stopped`.
    pub error_type: String,
    /// The server's reason, or a description of what went wrong.
    pub reason: String,
    /// How many times the operation was sent.
    pub attempts: u32,
    /// The operation as sent: its action line and source line (NDJSON, each line
    /// ending with `\n`); empty when it could not be serialized.
    pub operation: Bytes,
}

impl BulkFailure {
    /// The action line of the operation (without its newline).
    pub fn action_line(&self) -> &[u8] {
        let end = self
            .operation
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.operation.len());
        &self.operation[..end]
    }

    /// The source line of the operation (without its newline), if it has one.
    pub fn source_line(&self) -> Option<&[u8]> {
        let start = self.action_line().len() + 1;
        let rest = self.operation.get(start..)?;
        let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
        (!rest.is_empty()).then_some(rest)
    }
}

/// Running totals of an ingester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BulkStats {
    /// Operations accepted.
    pub operations: u64,
    /// NDJSON bytes of the accepted operations (each counted once).
    pub bytes: u64,
    /// NDJSON bytes sent, resends included.
    pub bytes_sent: u64,
    /// `_bulk` requests sent, retries and split halves included.
    pub requests: u64,
    /// Operations sent again after a 429, 502, 503, 504 or connection error.
    pub retries: u64,
    /// Operations applied.
    pub successes: u64,
    /// Operations failed.
    pub failures: u64,
    /// Time since the ingester was built (until the last outcome, once finished).
    pub elapsed: Duration,
}

impl BulkStats {
    /// Operations with an outcome so far.
    pub fn completed(&self) -> u64 {
        self.successes + self.failures
    }

    /// Operations accepted but without an outcome yet.
    pub fn pending(&self) -> u64 {
        self.operations.saturating_sub(self.completed())
    }
}

#[derive(Debug)]
pub(crate) struct StatsCounters {
    started: Instant,
    finished: OnceLock<Duration>,
    pub operations: AtomicU64,
    pub bytes: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub successes: AtomicU64,
    pub failures: AtomicU64,
}

impl StatsCounters {
    pub fn new() -> Self {
        StatsCounters {
            started: Instant::now(),
            finished: OnceLock::new(),
            operations: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Stops the clock: every operation has its outcome.
    pub fn finish(&self) {
        let _ = self.finished.set(self.started.elapsed());
    }

    pub fn snapshot(&self) -> BulkStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BulkStats {
            operations: get(&self.operations),
            bytes: get(&self.bytes),
            bytes_sent: get(&self.bytes_sent),
            requests: get(&self.requests),
            retries: get(&self.retries),
            successes: get(&self.successes),
            failures: get(&self.failures),
            elapsed: self
                .finished
                .get()
                .copied()
                .unwrap_or_else(|| self.started.elapsed()),
        }
    }
}
