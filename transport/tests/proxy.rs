//! HTTP proxy with CONNECT and proxy basic auth.

mod common;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use common::*;
use elasticsearch_transport::Transport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A CONNECT proxy that records each CONNECT head and requires `user:pass`.
async fn start_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let h = heads.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let h = h.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                h.lock().unwrap().push(head.clone());
                let expected = format!(
                    "proxy-authorization: basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode("user:pass")
                        .to_lowercase()
                );
                if !head.to_lowercase().contains(&expected) {
                    let _ = client
                        .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    return;
                }
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                let Ok(mut upstream) = TcpStream::connect(&target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://{addr}"), heads)
}

#[tokio::test]
async fn requests_tunnel_through_connect_proxy_with_auth() {
    let node = MockNode::start(|_| Reply::ok()).await;
    let (proxy, heads) = start_proxy().await;
    let t = Transport::builder()
        .node(format!("{}/prefix", node.url()))
        .proxy(proxy.clone())
        .proxy_basic_auth("user", "pass")
        .build()
        .unwrap();
    let resp = t.send(get("/idx/_search")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(node.last().target, "/prefix/idx/_search");
    let h = heads.lock().unwrap().clone();
    assert_eq!(h.len(), 1);
    assert!(
        h[0].starts_with(&format!("CONNECT {} HTTP/1.1\r\n", node.addr)),
        "{}",
        h[0]
    );

    // Credentials in the proxy URL work too.
    let with_userinfo = proxy.replace("http://", "http://user:pass@");
    let t = Transport::builder()
        .node(node.url())
        .proxy(with_userinfo)
        .build()
        .unwrap();
    assert_eq!(t.send(get("/")).await.unwrap().status(), 200);

    // Without credentials the proxy refuses: a connect error naming the proxy's answer.
    let t = Transport::builder()
        .node(node.url())
        .proxy(proxy)
        .max_retries(0)
        .build()
        .unwrap();
    let err = t.send(get("/")).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    let chain = format!("{:?}", err);
    assert!(chain.contains("407"), "{chain}");
}
