//! Loopback fault-injecting nodes for the transport tests.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A request as the node received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: http::Method,
    pub target: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the node does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
        delay: Duration,
    },
    /// Drop the connection without answering.
    Reset,
}

impl Reply {
    /// A response from "Elasticsearch" (with the product header).
    pub fn es(status: u16, body: &str) -> Reply {
        Reply::Respond {
            status,
            headers: vec![
                ("x-elastic-product".into(), "Elasticsearch".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: Bytes::from(body.to_string()),
            delay: Duration::ZERO,
        }
    }

    pub fn ok() -> Reply {
        Reply::es(200, r#"{"ok":true}"#)
    }

    pub fn delayed(mut self, d: Duration) -> Reply {
        if let Reply::Respond { delay, .. } = &mut self {
            *delay = d;
        }
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.into(), value.into()));
        }
        self
    }

    pub fn without_header(mut self, name: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        }
        self
    }

    pub fn with_body(mut self, b: impl Into<Bytes>) -> Reply {
        if let Reply::Respond { body, .. } = &mut self {
            *body = b.into();
        }
        self
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// A loopback HTTP/1.1 server.
#[derive(Clone)]
pub struct MockNode {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    pub connections: Arc<AtomicUsize>,
    handler: Arc<Mutex<Handler>>,
}

impl MockNode {
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> MockNode {
        Self::start_on("127.0.0.1:0", handler).await
    }

    pub async fn start_on(
        bind: &str,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> MockNode {
        let listener = TcpListener::bind(bind).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let node = MockNode {
            addr,
            requests: Arc::default(),
            connections: Arc::default(),
            handler: Arc::new(Mutex::new(Arc::new(handler))),
        };
        let n = node.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                n.connections.fetch_add(1, Ordering::SeqCst);
                let n = n.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let n = n.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let rec = Recorded {
                                method: parts.method,
                                target: parts.uri.to_string(),
                                headers: parts.headers,
                                body,
                            };
                            n.requests.lock().unwrap().push(rec.clone());
                            let handler = n.handler.lock().unwrap().clone();
                            match handler(&rec) {
                                Reply::Reset => Err("reset".to_string()),
                                Reply::Respond {
                                    status,
                                    headers,
                                    body,
                                    delay,
                                } => {
                                    if !delay.is_zero() {
                                        tokio::time::sleep(delay).await;
                                    }
                                    let mut resp = http::Response::builder().status(status);
                                    for (k, v) in headers {
                                        resp = resp.header(k, v);
                                    }
                                    Ok::<_, String>(resp.body(Full::new(body)).unwrap())
                                }
                            }
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        node
    }

    pub fn set_handler(&self, handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) {
        *self.handler.lock().unwrap() = Arc::new(handler);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn last(&self) -> Recorded {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("no request recorded")
    }

    pub fn all(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A loopback port nothing listens on.
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

pub fn get(target: &str) -> http::Request<Bytes> {
    http::Request::get(target)
        .header("accept", "application/json")
        .body(Bytes::new())
        .unwrap()
}

pub fn post(target: &str, body: &str) -> http::Request<Bytes> {
    http::Request::post(target)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

pub fn with_options(
    mut req: http::Request<Bytes>,
    options: elasticsearch_transport::RequestOptions,
) -> http::Request<Bytes> {
    req.extensions_mut().insert(options);
    req
}

pub fn served_by(resp: &http::Response<Bytes>) -> String {
    resp.extensions()
        .get::<elasticsearch_transport::ServedBy>()
        .map(|s| s.0.origin().to_string())
        .unwrap_or_default()
}

/// Keeps the compiler quiet about the unused import in some test crates.
pub fn _infallible(_: Infallible) {}
