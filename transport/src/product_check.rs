//! The product check: until the first successful response, a 2xx response must
//! carry `X-Elastic-Product: Elasticsearch`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Error;

/// Fails 2xx responses that do not come from Elasticsearch, until one does.
#[derive(Clone, Debug)]
pub struct ProductCheck<S> {
    inner: S,
    verified: Arc<AtomicBool>,
}

/// Layer for [`ProductCheck`].
#[derive(Clone, Debug, Default)]
pub struct ProductCheckLayer {
    verified: Arc<AtomicBool>,
}

impl ProductCheckLayer {
    /// A layer whose check has not passed yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for ProductCheckLayer {
    type Service = ProductCheck<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ProductCheck {
            inner,
            verified: self.verified.clone(),
        }
    }
}

/// Future of [`ProductCheck`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, Error>> + Send + 'static>>;

/// The header checked.
pub const PRODUCT_HEADER: &str = "x-elastic-product";

impl<S> Service<http::Request<Bytes>> for ProductCheck<S>
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
        let fut = self.inner.call(request);
        let verified = self.verified.clone();
        Box::pin(async move {
            let response = fut.await?;
            if verified.load(Ordering::Relaxed) || !response.status().is_success() {
                return Ok(response);
            }
            match response.headers().get(PRODUCT_HEADER) {
                Some(v) if v == "Elasticsearch" => {
                    verified.store(true, Ordering::Relaxed);
                    Ok(response)
                }
                Some(v) => Err(Error::ProductCheck {
                    reason: format!(
                        "the `X-Elastic-Product` header of a {} response is `{}`, not `Elasticsearch`",
                        response.status().as_u16(),
                        String::from_utf8_lossy(v.as_bytes())
                    ),
                }),
                None => Err(Error::ProductCheck {
                    reason: format!(
                        "a {} response has no `X-Elastic-Product: Elasticsearch` header",
                        response.status().as_u16()
                    ),
                }),
            }
        })
    }
}
