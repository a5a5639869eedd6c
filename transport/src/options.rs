//! Per-request settings carried in the request's extensions.

use std::borrow::Cow;
use std::time::Duration;

/// Per-request settings, carried in `request.extensions()`.
///
/// Every field left `None` falls back to the transport's setting.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Overrides the request timeout of each attempt.
    pub timeout: Option<Duration>,
    /// Overall time budget for the request, all attempts and backoff included.
    pub deadline: Option<Duration>,
    /// Overrides the maximum number of retries.
    pub max_retries: Option<u32>,
    /// Whether a `429 Too Many Requests` is retried after a backoff. Helpers that retry
    /// rejected items themselves (bulk) switch this off.
    pub retry_on_429: Option<bool>,
    /// Whether a timed-out attempt is retried. Idempotent methods (GET, HEAD, PUT,
    /// DELETE, OPTIONS) are always retried on timeouts; other methods only with this
    /// set, because the first attempt may already have been applied.
    pub retry_on_timeout: Option<bool>,
    /// Sent as `X-Opaque-Id`.
    pub opaque_id: Option<String>,
    /// The endpoint name (e.g. `search`), recorded as `db.operation.name` in spans.
    pub operation: Option<Cow<'static, str>>,
    /// Extra entries appended to the `x-elastic-client-meta` header (e.g. `h=bp` for the bulk helper).
    pub client_meta: Option<String>,
}

impl RequestOptions {
    /// Options with every field unset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`RequestOptions::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets [`RequestOptions::deadline`].
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Sets [`RequestOptions::max_retries`].
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = Some(max_retries);
        self
    }

    /// Sets [`RequestOptions::retry_on_429`].
    pub fn retry_on_429(mut self, retry: bool) -> Self {
        self.retry_on_429 = Some(retry);
        self
    }

    /// Sets [`RequestOptions::retry_on_timeout`].
    pub fn retry_on_timeout(mut self, retry: bool) -> Self {
        self.retry_on_timeout = Some(retry);
        self
    }

    /// Sets [`RequestOptions::opaque_id`].
    pub fn opaque_id(mut self, id: impl Into<String>) -> Self {
        self.opaque_id = Some(id.into());
        self
    }

    /// Sets [`RequestOptions::operation`].
    pub fn operation(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.operation = Some(name.into());
        self
    }

    /// Sets [`RequestOptions::client_meta`].
    pub fn client_meta(mut self, extra: impl Into<String>) -> Self {
        self.client_meta = Some(extra.into());
        self
    }
}
