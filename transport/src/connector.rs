//! TCP connections, directly or tunnelled through an HTTP proxy with `CONNECT`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower_service::Service;

use crate::error::{BoxError, Error};
use crate::node::redact_url;

/// An HTTP proxy that requests are tunnelled through with `CONNECT`.
#[derive(Clone)]
pub(crate) struct Proxy {
    uri: http::Uri,
    display: String,
    authorization: Option<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.display)
            .field("authorization", &self.authorization.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Proxy {
    /// Parses `http://[user:pass@]host:port`.
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let (node, credentials) = crate::node::Node::parse(url)?;
        if node.is_https() {
            return Err(Error::InvalidUrl {
                url: redact_url(url),
                reason:
                    "only http:// proxies are supported (HTTPS targets are tunnelled through them)"
                        .into(),
            });
        }
        let authorization = match credentials {
            Some(crate::auth::Credentials::Basic { username, password }) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            _ => None,
        };
        let uri = node.origin().parse().map_err(|_| Error::InvalidUrl {
            url: redact_url(url),
            reason: "invalid proxy address".into(),
        })?;
        Ok(Self {
            uri,
            display: node.origin().to_string(),
            authorization,
        })
    }

    pub(crate) fn with_basic_auth(mut self, username: &str, password: &str) -> Self {
        self.authorization = Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        ));
        self
    }
}

/// Connects to nodes (directly or through the proxy); TLS is layered on top by hyper-rustls.
#[derive(Clone, Debug)]
pub(crate) struct Connector {
    http: HttpConnector,
    proxy: Option<Arc<Proxy>>,
}

impl Connector {
    pub(crate) fn new(http: HttpConnector, proxy: Option<Proxy>) -> Self {
        Self {
            http,
            proxy: proxy.map(Arc::new),
        }
    }
}

impl Service<http::Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let Some(proxy) = self.proxy.clone() else {
            let fut = self.http.call(dst);
            return Box::pin(async move { fut.await.map_err(Into::into) });
        };
        let fut = self.http.call(proxy.uri.clone());
        Box::pin(async move {
            let io = fut.await.map_err(|e| -> BoxError {
                format!("cannot connect to the proxy {}: {e}", proxy.display).into()
            })?;
            let mut stream = io.into_inner();
            let host = dst.host().ok_or("request URI without host")?;
            let port = dst
                .port_u16()
                .unwrap_or(if dst.scheme_str() == Some("https") {
                    443
                } else {
                    80
                });
            let target = format!("{host}:{port}");
            let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
            if let Some(auth) = &proxy.authorization {
                head.push_str("Proxy-Authorization: ");
                head.push_str(auth);
                head.push_str("\r\n");
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).await?;
            let mut buf = Vec::with_capacity(256);
            let mut byte = [0u8; 1];
            // Read the proxy's reply head byte by byte so no tunnelled byte is consumed.
            while !buf.ends_with(b"\r\n\r\n") {
                if buf.len() > 16 * 1024 {
                    return Err("the proxy's CONNECT reply head is too large".into());
                }
                let n = stream.read(&mut byte).await?;
                if n == 0 {
                    return Err("the proxy closed the connection during CONNECT".into());
                }
                buf.push(byte[0]);
            }
            let status_line = String::from_utf8_lossy(&buf);
            let status_line = status_line.lines().next().unwrap_or_default();
            let code = status_line.split_whitespace().nth(1).unwrap_or_default();
            if !code.starts_with('2') {
                return Err(format!(
                    "the proxy {} refused CONNECT {target}: {status_line}",
                    proxy.display
                )
                .into());
            }
            Ok(TokioIo::new(stream))
        })
    }
}
