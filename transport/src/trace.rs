//! A tracing span per request, with OpenTelemetry's attribute names for Elasticsearch.
//!
//! Span `elasticsearch.request` with `db.system` / `db.system.name` = `elasticsearch`,
//! `db.operation.name` (the endpoint, from [`crate::RequestOptions::operation`]),
//! `http.request.method`, `server.address`, `server.port`, `url.full` (never with
//! credentials: nodes hold none), `http.response.status_code` and `error.type`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;
use tracing::Instrument;

use crate::error::Error;
use crate::options::RequestOptions;

/// Wraps each request in a span.
#[derive(Clone, Debug)]
pub struct Trace<S> {
    inner: S,
}

/// Layer for [`Trace`].
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceLayer;

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Trace { inner }
    }
}

/// Future of [`Trace`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, Error>> + Send + 'static>>;

fn error_type(error: &Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_tls() {
        "tls"
    } else if error.is_connect() {
        "connect"
    } else if error.is_product_check() {
        "product_check"
    } else {
        "transport"
    }
}

impl<S> Service<http::Request<Bytes>> for Trace<S>
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
        let operation = request
            .extensions()
            .get::<RequestOptions>()
            .and_then(|o| o.operation.clone());
        let span = tracing::info_span!(
            "elasticsearch.request",
            otel.name = operation.as_deref().unwrap_or(request.method().as_str()),
            otel.kind = "client",
            db.system = "elasticsearch",
            db.system.name = "elasticsearch",
            db.operation.name = operation.as_deref(),
            http.request.method = request.method().as_str(),
            server.address = Empty,
            server.port = Empty,
            url.full = Empty,
            http.response.status_code = Empty,
            "error.type" = Empty,
        );
        let fut = {
            let _enter = span.enter();
            self.inner.call(request)
        };
        let record = span.clone();
        Box::pin(
            async move {
                let result = fut.await;
                match &result {
                    Ok(response) => {
                        record.record("http.response.status_code", response.status().as_u16());
                        if response.status().as_u16() >= 400 {
                            record.record("error.type", response.status().as_str());
                        }
                    }
                    Err(error) => {
                        record.record("error.type", error_type(error));
                        tracing::debug!(error = %error, "request failed");
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}
