//! The innermost service: sends one attempt to its selected node with hyper-util's
//! pooled client and buffers the response body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use tower_service::Service;

use crate::connector::Connector;
use crate::error::{BoxError, Error};
use crate::pool::SelectedNode;

pub(crate) type HyperPool = HyperClient<HttpsConnector<Connector>, Full<Bytes>>;

/// Sends a request to the node in its [`SelectedNode`] extension.
#[derive(Clone, Debug)]
pub struct HttpSend {
    client: HyperPool,
}

impl HttpSend {
    pub(crate) fn new(client: HyperPool) -> Self {
        Self { client }
    }
}

/// Future of [`HttpSend`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, Error>> + Send + 'static>>;

fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.is::<rustls::Error>() {
            return true;
        }
        // `io::Error::source` skips the wrapped error; follow `get_ref` instead.
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

fn classify(node: String, error: hyper_util::client::legacy::Error) -> Error {
    let tls = is_tls(&error);
    let connect = error.is_connect();
    let source: BoxError = Box::new(error);
    if tls {
        Error::Tls { node, source }
    } else if connect {
        Error::Connect { node, source }
    } else {
        Error::Request { node, source }
    }
}

impl Service<http::Request<Bytes>> for HttpSend {
    type Response = http::Response<Bytes>;
    type Error = Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Bytes>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let Some(SelectedNode(node)) = parts.extensions.get::<SelectedNode>().cloned() else {
            return Box::pin(async { Err(Error::config("no node selected for the request")) });
        };
        let target = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        parts.uri = match node.request_uri(target) {
            Ok(uri) => uri,
            Err(e) => return Box::pin(async { Err(e) }),
        };
        let origin = node.origin().to_string();
        let fut = self
            .client
            .request(http::Request::from_parts(parts, Full::new(body)));
        Box::pin(async move {
            let response = fut.await.map_err(|e| classify(origin.clone(), e))?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| Error::Request {
                node: origin,
                source: Box::new(e),
            })?;
            Ok(http::Response::from_parts(parts, body.to_bytes()))
        })
    }
}
