//! Authentication forms, rotation, and credential redaction (C13).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use elasticsearch_transport::{Credentials, Transport};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn each_auth_form_and_rotation() {
    let node = MockNode::start(|_| Reply::ok()).await;
    let cases = [
        (
            Credentials::basic("elastic", "pw"),
            format!("Basic {}", b64("elastic:pw")),
        ),
        (
            Credentials::api_key("ABC", "DEF"),
            "ApiKey QUJDOkRFRg==".to_string(),
        ),
        (
            Credentials::encoded_api_key("QUJDOkRFRg=="),
            "ApiKey QUJDOkRFRg==".to_string(),
        ),
        (Credentials::bearer("tok"), "Bearer tok".to_string()),
    ];
    for (creds, expected) in cases {
        let t = Transport::builder()
            .node(node.url())
            .credentials(creds)
            .build()
            .unwrap();
        t.send(get("/")).await.unwrap();
        assert_eq!(node.last().header("authorization"), Some(expected.as_str()));
    }
    // From URL userinfo (percent-decoded), never in the request target.
    let url = format!("http://elastic-user:S3cr3t%2DPw@{}", node.addr);
    let t = Transport::single(&url).unwrap();
    t.send(get("/_search?q=x")).await.unwrap();
    let r = node.last();
    assert_eq!(
        r.header("authorization").unwrap(),
        format!("Basic {}", b64("elastic-user:S3cr3t-Pw"))
    );
    assert_eq!(r.target, "/_search?q=x");
    // Rotation on a live transport, shared by clones.
    let clone = t.clone();
    t.set_credentials(Some(Credentials::bearer("new-token")))
        .unwrap();
    clone.send(get("/")).await.unwrap();
    assert_eq!(
        node.last().header("authorization"),
        Some("Bearer new-token")
    );
    t.set_credentials(None).unwrap();
    clone.send(get("/")).await.unwrap();
    assert_eq!(node.last().header("authorization"), None);
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// C13: no password, key or token in logs (TRACE included), Debug, Display.
#[tokio::test]
async fn credentials_never_leak() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let secrets = ["S3cr3t-Pw", "QUJDOkRFRg==", "T0k3n-xyz", "UHJveHlQdw"];
    let port = closed_port().await;
    let node = MockNode::start(|_| {
        Reply::es(
            401,
            r#"{"error":{"type":"security_exception","reason":"unable to authenticate"}}"#,
        )
    })
    .await;
    let mut texts = Vec::new();

    let url = format!("http://elastic-user:S3cr3t-Pw@127.0.0.1:{port}");
    let builder = Transport::builder()
        .node(url.clone())
        .proxy("http://proxyuser:UHJveHlQdw@127.0.0.1:1")
        .max_retries(1);
    texts.push(format!("{builder:?}"));
    let t = Transport::builder()
        .node(url)
        .max_retries(1)
        .build()
        .unwrap();
    texts.push(format!("{t:?}"));
    let err = t.send(get("/")).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    assert!(
        err.to_string()
            .contains(&format!("http://127.0.0.1:{port}")),
        "{err}"
    );

    for creds in [
        Credentials::encoded_api_key("QUJDOkRFRg=="),
        Credentials::bearer("T0k3n-xyz"),
    ] {
        texts.push(format!("{creds:?}"));
        let t = Transport::builder()
            .node(node.url())
            .credentials(creds)
            .build()
            .unwrap();
        texts.push(format!("{t:?}"));
        let resp = t.send(get("/")).await.unwrap();
        assert_eq!(resp.status(), 401);
        texts.push(format!("{resp:?}"));
        let t = Transport::builder()
            .node(format!("http://127.0.0.1:{port}"))
            .credentials(Credentials::bearer("T0k3n-xyz"))
            .max_retries(0)
            .connect_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let err = t.send(get("/")).await.unwrap_err();
        texts.push(format!(
            "{err} {err:?} {:?}",
            std::error::Error::source(&err)
        ));
    }
    let bad = Transport::single("ftp://elastic-user:S3cr3t-Pw@127.0.0.1:9200").unwrap_err();
    texts.push(format!("{bad} {bad:?}"));

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("elasticsearch.request"),
        "spans were not recorded: {logs}"
    );
    assert!(
        logs.contains("db.system=\"elasticsearch\"") || logs.contains("db.system=elasticsearch"),
        "{logs}"
    );
    texts.push(logs);
    for text in &texts {
        for secret in secrets {
            assert!(!text.contains(secret), "`{secret}` leaked in: {text}");
        }
    }
}

#[tokio::test]
async fn spans_carry_opentelemetry_attributes() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let node = MockNode::start(|_| Reply::ok()).await;
    let t = Transport::builder()
        .node(format!("http://user:pw@{}/es", node.addr))
        .build()
        .unwrap();
    t.send(with_options(
        get("/idx/_search?size=1"),
        elasticsearch_transport::RequestOptions::new().operation("search"),
    ))
    .await
    .unwrap();
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    for needle in [
        "db.system=\"elasticsearch\"".to_string(),
        "db.operation.name=\"search\"".to_string(),
        "http.request.method=\"GET\"".to_string(),
        "server.address=\"127.0.0.1\"".to_string(),
        format!("server.port={}", node.addr.port()),
        format!(
            "url.full=\"http://127.0.0.1:{}/es/idx/_search?size=1\"",
            node.addr.port()
        ),
        "http.response.status_code=200".to_string(),
    ] {
        assert!(logs.contains(&needle), "missing {needle} in {logs}");
    }
    assert!(!logs.contains("pw@"), "{logs}");
}
