//! The one retry layer: attempts on other nodes, 429 backoff, timeouts and the deadline.
//!
//! Retried: connection errors (and resets mid-request), `502`/`503`/`504` (on another
//! node where there is one, without waiting), `429` after a jittered exponential
//! backoff (unless switched off), and timeouts for idempotent methods or when the
//! caller opts in. Never retried: TLS failures and every other status. The overall
//! deadline bounds every attempt and every backoff.
//!
//! The 429 backoff before retry `n` (1-based) is drawn uniformly from
//! `[d/2, d]` with `d = min(max_backoff, initial_backoff * 2^(n-1))`
//! (defaults 500 ms and 10 s).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{Attempt, Error};
use crate::options::RequestOptions;
use crate::pool::{is_node_failure_status, ServedBy, Tried};
use crate::timeout::AttemptTimeout;

/// Retry settings of a transport.
#[derive(Clone, Debug)]
pub(crate) struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) retry_on_429: bool,
    pub(crate) retry_on_timeout: bool,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            retry_on_429: true,
            retry_on_timeout: false,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            deadline: None,
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        let full = self
            .initial_backoff
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        let half = full / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

fn is_idempotent(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::GET
            | http::Method::HEAD
            | http::Method::PUT
            | http::Method::DELETE
            | http::Method::OPTIONS
            | http::Method::TRACE
    )
}

/// Retries failed attempts according to the transport's policy.
#[derive(Clone, Debug)]
pub struct Retry<S> {
    inner: S,
    policy: RetryPolicy,
}

/// Layer for [`Retry`].
#[derive(Clone, Debug)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Retry {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// Future of [`Retry`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, Error>> + Send + 'static>>;

fn rebuild(parts: &http::request::Parts, body: &Bytes) -> http::Request<Bytes> {
    let mut request = http::Request::new(body.clone());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    *request.extensions_mut() = parts.extensions.clone();
    request
}

impl<S> Service<http::Request<Bytes>> for Retry<S>
where
    S: Service<http::Request<Bytes>, Response = http::Response<Bytes>, Error = Error>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Bytes>;
    type Error = Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Bytes>) -> Self::Future {
        // The first attempt uses the service that was polled ready.
        let first = self.inner.clone();
        let first = std::mem::replace(&mut self.inner, first);
        let policy = self.policy.clone();
        Box::pin(run(first, policy, request))
    }
}

async fn run<S>(
    mut service: S,
    policy: RetryPolicy,
    request: http::Request<Bytes>,
) -> Result<http::Response<Bytes>, Error>
where
    S: Service<http::Request<Bytes>, Response = http::Response<Bytes>, Error = Error> + Clone,
{
    let options = request
        .extensions()
        .get::<RequestOptions>()
        .cloned()
        .unwrap_or_default();
    let (parts, body) = request.into_parts();
    let max_retries = options.max_retries.unwrap_or(policy.max_retries);
    let retry_on_429 = options.retry_on_429.unwrap_or(policy.retry_on_429);
    let retry_on_timeout =
        is_idempotent(&parts.method) || options.retry_on_timeout.unwrap_or(policy.retry_on_timeout);
    let request_timeout = options.timeout.unwrap_or(policy.request_timeout);
    let deadline = options.deadline.or(policy.deadline);
    let start = Instant::now();
    let deadline_at = deadline.map(|d| start + d);

    let mut attempts: Vec<Attempt> = Vec::new();
    let mut tried: Vec<String> = Vec::new();
    let mut retries = 0u32;
    let mut backoffs = 0u32;
    let mut ready = true;
    loop {
        let mut timeout = request_timeout;
        if let Some(at) = deadline_at {
            let remaining = at.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Error::DeadlineExceeded {
                    deadline: deadline.unwrap_or_default(),
                    attempts,
                });
            }
            timeout = timeout.min(remaining);
        }
        let mut attempt = rebuild(&parts, &body);
        attempt.extensions_mut().insert(Tried(tried.clone()));
        attempt.extensions_mut().insert(AttemptTimeout(timeout));
        let result = if ready {
            ready = false;
            service.call(attempt).await
        } else {
            match service.ready().await {
                Ok(svc) => svc.call(attempt).await,
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(response) => {
                let status = response.status();
                let node = response
                    .extensions()
                    .get::<ServedBy>()
                    .map(|s| s.0.origin().to_string())
                    .unwrap_or_default();
                let is_429 = status == http::StatusCode::TOO_MANY_REQUESTS;
                let retryable = is_node_failure_status(status) || (is_429 && retry_on_429);
                if !retryable || retries >= max_retries {
                    return Ok(response);
                }
                if is_429 {
                    backoffs += 1;
                    let delay = policy.backoff(backoffs);
                    if deadline_at.is_some_and(|at| Instant::now() + delay >= at) {
                        return Ok(response);
                    }
                    tracing::debug!(%node, status = status.as_u16(), delay_ms = delay.as_millis() as u64, "retrying after backoff");
                    tokio::time::sleep(delay).await;
                } else {
                    tracing::debug!(%node, status = status.as_u16(), "retrying on another node");
                }
                tried.push(node);
            }
            Err(error) => {
                let retryable = match &error {
                    Error::Connect { .. } | Error::Request { .. } => true,
                    Error::Timeout { .. } => retry_on_timeout,
                    _ => false,
                };
                let node = error.node().unwrap_or_default().to_string();
                let past_deadline = deadline_at.is_some_and(|at| Instant::now() >= at);
                if past_deadline && matches!(error, Error::Timeout { .. }) {
                    attempts.push(Attempt { node, error });
                    return Err(Error::DeadlineExceeded {
                        deadline: deadline.unwrap_or_default(),
                        attempts,
                    });
                }
                if !retryable || retries >= max_retries {
                    if attempts.is_empty() {
                        return Err(error);
                    }
                    attempts.push(Attempt { node, error });
                    return Err(Error::AllAttemptsFailed { attempts });
                }
                tracing::debug!(%node, error = %error, "attempt failed, retrying");
                tried.push(node.clone());
                attempts.push(Attempt { node, error });
            }
        }
        retries += 1;
    }
}
