//! Headers, compatibility media types, product check, compression, path prefixes and HEAD.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use elasticsearch_transport::{Compatibility, RequestOptions, Transport};

#[tokio::test]
async fn compatibility_headers_default_configurable_and_off() {
    let node = MockNode::start(|_| Reply::ok()).await;
    let t = Transport::single(&node.url()).unwrap();
    t.send(post("/i/_search", "{}")).await.unwrap();
    let r = node.last();
    assert_eq!(
        r.header("accept"),
        Some("application/vnd.elasticsearch+json; compatible-with=9")
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.elasticsearch+json; compatible-with=9")
    );
    let bulk = http::Request::post("/_bulk")
        .header("accept", "application/json")
        .header("content-type", "application/x-ndjson")
        .body(Bytes::from_static(b"{}\n"))
        .unwrap();
    t.send(bulk).await.unwrap();
    assert_eq!(
        node.last().header("content-type"),
        Some("application/vnd.elasticsearch+x-ndjson; compatible-with=9")
    );
    let text = http::Request::post("/_sql?format=txt")
        .header("accept", "text/plain")
        .header("content-type", "text/plain")
        .body(Bytes::from_static(b"x"))
        .unwrap();
    t.send(text).await.unwrap();
    assert_eq!(node.last().header("accept"), Some("text/plain"));
    assert_eq!(node.last().header("content-type"), Some("text/plain"));

    let t8 = Transport::builder()
        .node(node.url())
        .compatibility(Compatibility::Version(8))
        .build()
        .unwrap();
    t8.send(post("/i/_search", "{}")).await.unwrap();
    assert_eq!(
        node.last().header("accept"),
        Some("application/vnd.elasticsearch+json; compatible-with=8")
    );

    let off = Transport::builder()
        .node(node.url())
        .compatibility(Compatibility::Off)
        .build()
        .unwrap();
    off.send(post("/i/_search", "{}")).await.unwrap();
    assert_eq!(node.last().header("accept"), Some("application/json"));
    assert_eq!(node.last().header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn meta_user_agent_custom_and_opaque_id_headers() {
    let node = MockNode::start(|_| Reply::ok()).await;
    let t = Transport::builder()
        .node(node.url())
        .client_meta("9.5.1-beta.1")
        .header("x-team", "search")
        .build()
        .unwrap();
    t.send(with_options(
        get("/"),
        RequestOptions::new()
            .opaque_id("job-42")
            .client_meta("h=bp"),
    ))
    .await
    .unwrap();
    let r = node.last();
    let meta = r.header("x-elastic-client-meta").unwrap();
    let re_ok = meta.split(',').all(|kv| {
        let (k, v) = kv.split_once('=').unwrap();
        !k.is_empty() && !v.is_empty()
    });
    assert!(re_ok, "{meta}");
    assert!(meta.starts_with("es=9.5.1p,rs="), "{meta}");
    assert!(
        meta.contains(&format!(",t={},", env!("CARGO_PKG_VERSION"))),
        "{meta}"
    );
    assert!(meta.ends_with(",h=bp"), "{meta}");
    // The format of the official clients: `key=value` pairs, lower-case keys, versions.
    let keys: Vec<&str> = meta
        .split(',')
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    assert_eq!(keys, ["es", "rs", "t", "h"], "{meta}");
    assert!(
        meta.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".,=-".contains(c)),
        "{meta}"
    );
    assert!(r
        .header("user-agent")
        .unwrap()
        .starts_with("elasticsearch-rs/9.5.1-beta.1 ("));
    assert_eq!(r.header("x-team"), Some("search"));
    assert_eq!(r.header("x-opaque-id"), Some("job-42"));

    // A request's own header wins over the client default.
    let req = http::Request::get("/")
        .header("x-team", "ingest")
        .body(Bytes::new())
        .unwrap();
    t.send(req).await.unwrap();
    assert_eq!(node.last().header("x-team"), Some("ingest"));
    assert_eq!(node.last().header("x-opaque-id"), None);

    let t = Transport::builder()
        .node(node.url())
        .client_meta_enabled(false)
        .user_agent("my-app/1")
        .build()
        .unwrap();
    t.send(get("/")).await.unwrap();
    assert_eq!(node.last().header("x-elastic-client-meta"), None);
    assert_eq!(node.last().header("user-agent"), Some("my-app/1"));
}

#[tokio::test]
async fn product_check_until_first_success_and_switchable() {
    let node = MockNode::start(|_| Reply::ok().without_header("x-elastic-product")).await;
    let t = Transport::single(&node.url()).unwrap();
    let err = t.send(get("/")).await.unwrap_err();
    assert!(err.is_product_check(), "{err:?}");
    assert!(err.to_string().contains("X-Elastic-Product"), "{err}");
    // Errors (4xx) are not checked.
    node.set_handler(|_| Reply::es(401, "{}").without_header("x-elastic-product"));
    assert_eq!(t.send(get("/")).await.unwrap().status(), 401);
    // A wrong product is named.
    node.set_handler(|_| Reply::ok().with_header("x-elastic-product", "OpenSearch"));
    let err = t.send(get("/")).await.unwrap_err();
    assert!(err.to_string().contains("OpenSearch"), "{err}");
    // Once verified, later responses without the header pass.
    node.set_handler(|_| Reply::ok());
    t.send(get("/")).await.unwrap();
    node.set_handler(|_| Reply::ok().without_header("x-elastic-product"));
    t.send(get("/")).await.unwrap();

    let off = Transport::builder()
        .node(node.url())
        .product_check(false)
        .build()
        .unwrap();
    assert_eq!(off.send(get("/")).await.unwrap().status(), 200);
}

fn gunzip(b: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(b)
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[tokio::test]
async fn gzip_requests_and_gzip_deflate_responses() {
    let node = MockNode::start(|r| {
        let body = r#"{"hits":{"total":1}}"#;
        match r.target.as_str() {
            "/gzip" => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(body.as_bytes()).unwrap();
                Reply::ok()
                    .with_header("content-encoding", "gzip")
                    .with_body(e.finish().unwrap())
            }
            "/deflate" => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(body.as_bytes()).unwrap();
                Reply::ok()
                    .with_header("content-encoding", "deflate")
                    .with_body(e.finish().unwrap())
            }
            "/broken" => Reply::ok()
                .with_header("content-encoding", "gzip")
                .with_body("not gzip"),
            _ => Reply::ok(),
        }
    })
    .await;
    let plain = Transport::single(&node.url()).unwrap();
    plain.send(post("/i/_doc", r#"{"a":1}"#)).await.unwrap();
    assert_eq!(node.last().header("content-encoding"), None);
    assert_eq!(node.last().header("accept-encoding"), None);
    assert_eq!(node.last().body, Bytes::from_static(br#"{"a":1}"#));
    for path in ["/gzip", "/deflate"] {
        let resp = plain.send(get(path)).await.unwrap();
        assert_eq!(
            resp.body(),
            &Bytes::from_static(br#"{"hits":{"total":1}}"#),
            "{path}"
        );
        assert!(resp.headers().get("content-encoding").is_none());
    }
    let err = plain.send(get("/broken")).await.unwrap_err();
    assert!(
        matches!(err, elasticsearch_transport::Error::Decompression { .. }),
        "{err:?}"
    );

    let gz = Transport::builder()
        .node(node.url())
        .gzip_requests(true)
        .build()
        .unwrap();
    let doc = r#"{"msg":"hello hello hello hello hello"}"#;
    gz.send(post("/i/_doc", doc)).await.unwrap();
    let r = node.last();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.header("accept-encoding").unwrap().contains("gzip"));
    assert_eq!(gunzip(&r.body), doc);
    // Bodiless requests are not "compressed".
    gz.send(get("/")).await.unwrap();
    assert_eq!(node.last().header("content-encoding"), None);
}

/// C2: a node URL with a path prefix.
#[tokio::test]
async fn path_prefix_is_kept() {
    let node = MockNode::start(|_| Reply::ok()).await;
    for url in [format!("{}/es", node.url()), format!("{}/es/", node.url())] {
        let t = Transport::single(&url).unwrap();
        for target in ["/my-index/_search?size=1", "/", "/_bulk", "/_search/scroll"] {
            t.send(get(target)).await.unwrap();
            let expected = if target == "/" {
                "/es/".to_string()
            } else {
                format!("/es{target}")
            };
            assert_eq!(node.last().target, expected);
        }
    }
}

/// C6: a HEAD reply advertising a body length must not hang the pooled connection.
#[tokio::test]
async fn head_with_content_length_does_not_hang_the_connection() {
    let node = MockNode::start(|r| {
        if r.method == http::Method::HEAD {
            if r.target.contains("missing") {
                Reply::es(404, "").with_header("content-length", "0")
            } else {
                Reply::ok()
                    .with_header("content-length", "1234")
                    .with_body(Bytes::new())
            }
        } else {
            Reply::es(200, r#"{"found":true}"#)
        }
    })
    .await;
    let t = Transport::single(&node.url()).unwrap();
    let head = |p: &str| http::Request::head(p).body(Bytes::new()).unwrap();
    for _ in 0..3 {
        let resp = tokio::time::timeout(Duration::from_secs(5), t.send(head("/idx/_doc/1")))
            .await
            .expect("HEAD hung")
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.body().is_empty());
        let resp = tokio::time::timeout(Duration::from_secs(5), t.send(get("/idx/_doc/1")))
            .await
            .expect("GET after HEAD hung")
            .unwrap();
        assert_eq!(resp.body(), &Bytes::from_static(br#"{"found":true}"#));
        let resp = t.send(head("/idx/_doc/missing")).await.unwrap();
        assert_eq!(resp.status(), 404);
    }
    // One pooled connection served every request.
    assert_eq!(
        node.connections.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn request_target_is_sent_verbatim() {
    let node = MockNode::start(|_| Reply::ok()).await;
    let t = Transport::single(&node.url()).unwrap();
    t.send(get("/test/_doc/dir%2Ffile.txt?routing=a%2Cb"))
        .await
        .unwrap();
    assert_eq!(
        node.last().target,
        "/test/_doc/dir%2Ffile.txt?routing=a%2Cb"
    );
}
