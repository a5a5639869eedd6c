//! Per-attempt request timeout.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Error;
use crate::pool::SelectedNode;

/// The timeout of one attempt (request extension set by the retry layer).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttemptTimeout(pub(crate) Duration);

/// Fails an attempt with [`Error::Timeout`] when no full response arrives in time.
#[derive(Clone, Debug)]
pub struct Timeout<S> {
    inner: S,
    default: Duration,
}

/// Layer for [`Timeout`].
#[derive(Clone, Debug)]
pub struct TimeoutLayer {
    default: Duration,
}

impl TimeoutLayer {
    /// A layer with the given default timeout.
    pub fn new(default: Duration) -> Self {
        Self { default }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Timeout {
            inner,
            default: self.default,
        }
    }
}

/// Future of [`Timeout`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, Error>> + Send + 'static>>;

impl<S> Service<http::Request<Bytes>> for Timeout<S>
where
    S: Service<http::Request<Bytes>, Response = http::Response<Bytes>, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Bytes>;
    type Error = Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Bytes>) -> Self::Future {
        let timeout = request
            .extensions()
            .get::<AttemptTimeout>()
            .map(|t| t.0)
            .unwrap_or(self.default);
        let node = request
            .extensions()
            .get::<SelectedNode>()
            .map(|n| n.0.origin().to_string())
            .unwrap_or_default();
        let fut = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(timeout, fut).await {
                Ok(result) => result,
                Err(_) => Err(Error::Timeout { node, timeout }),
            }
        })
    }
}
