//! TLS on loopback with fixture certificates (`tests/fixtures`, a throwaway CA valid for
//! 100 years): CA trust, fingerprint pins, untrusted certificates, the explicit
//! escape hatch, client certificates and HTTPS through a CONNECT proxy.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use elasticsearch_transport::{Error, Transport};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
}

fn certs(name: &str) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut &fixture(name)[..])
        .collect::<Result<_, _>>()
        .expect("certs")
}

fn key(name: &str) -> PrivateKeyDer<'static> {
    rustls_pemfile::private_key(&mut &fixture(name)[..])
        .expect("key")
        .expect("a key")
}

fn sha256(name: &str) -> String {
    String::from_utf8(fixture(name))
        .expect("utf8")
        .trim()
        .to_string()
}

/// An HTTPS node. `send_ca` adds the CA to the presented chain (as Elasticsearch's
/// auto-configuration does); `require_client_cert` turns on mutual TLS.
async fn tls_node(send_ca: bool, require_client_cert: bool) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut chain = certs("node.crt");
    if send_ca {
        chain.extend(certs("ca.crt"));
    }
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(certs("ca.crt").remove(0)).expect("root");
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(chain, key("node.key"))
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let client_cert = tls.get_ref().1.peer_certificates().is_some();
                let svc = service_fn(move |_req| async move {
                    Ok::<_, std::convert::Infallible>(
                        http::Response::builder()
                            .header("x-elastic-product", "Elasticsearch")
                            .body(Full::new(Bytes::from(format!(
                                r#"{{"client_cert":{client_cert}}}"#
                            ))))
                            .expect("response"),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn trusts_the_ca_file_and_fails_on_untrusted_certificates() {
    let addr = tls_node(false, false).await;
    for host in [
        format!("https://127.0.0.1:{}", addr.port()),
        format!("https://localhost:{}", addr.port()),
    ] {
        let t = Transport::builder()
            .node(host.clone())
            .ca_certificate_file(format!("{FIXTURES}/ca.crt"))
            .build()
            .expect("transport");
        assert_eq!(t.send(get("/")).await.expect(&host).status(), 200);
    }
    let url = format!("https://127.0.0.1:{}", addr.port());
    // Default roots (webpki) and an unrelated CA do not trust it: a TLS error, not retried.
    for builder in [
        Transport::builder().node(url.clone()),
        Transport::builder()
            .node(url.clone())
            .ca_certificate_pem(fixture("other-ca.crt")),
    ] {
        let err = builder
            .build()
            .expect("transport")
            .send(get("/"))
            .await
            .unwrap_err();
        assert!(err.is_tls(), "{err:?}");
        assert!(
            matches!(err, Error::Tls { .. }),
            "TLS failures are not retried: {err:?}"
        );
    }
    // The loudly named escape hatch.
    let t = Transport::builder()
        .node(url)
        .danger_accept_invalid_certs(true)
        .build()
        .expect("transport");
    assert_eq!(
        t.send(get("/")).await.expect("accept invalid").status(),
        200
    );
}

#[tokio::test]
async fn fingerprint_pins() {
    // The CA's fingerprint, as Elasticsearch prints it, when the chain carries the CA.
    let with_ca = tls_node(true, false).await;
    let leaf_only = tls_node(false, false).await;
    let colon = |hex: &str| {
        hex.as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).to_uppercase())
            .collect::<Vec<_>>()
            .join(":")
    };
    let send = |addr: SocketAddr, pin: String| async move {
        Transport::builder()
            .node(format!("https://127.0.0.1:{}", addr.port()))
            .ca_fingerprint(&pin)
            .build()
            .expect("transport")
            .send(get("/"))
            .await
    };
    assert_eq!(
        send(with_ca, sha256("ca.sha256"))
            .await
            .expect("CA pin")
            .status(),
        200
    );
    assert_eq!(
        send(with_ca, colon(&sha256("ca.sha256")))
            .await
            .expect("CA pin with colons")
            .status(),
        200
    );
    // The leaf's fingerprint works whatever the chain.
    assert_eq!(
        send(leaf_only, sha256("node.sha256"))
            .await
            .expect("leaf pin")
            .status(),
        200
    );
    // A CA that is not presented cannot be matched; a wrong pin fails, naming the cause.
    for (addr, pin) in [(leaf_only, sha256("ca.sha256")), (with_ca, "00".repeat(32))] {
        let err = send(addr, pin).await.unwrap_err();
        assert!(err.is_tls(), "{err:?}");
        assert!(format!("{err:?}").contains("fingerprint"), "{err:?}");
    }
    // An invalid pin is a configuration error at build time.
    let err = Transport::builder()
        .node("https://127.0.0.1:1")
        .ca_fingerprint("zz")
        .build()
        .unwrap_err();
    assert!(err.is_config(), "{err:?}");
}

#[tokio::test]
async fn client_certificates() {
    let addr = tls_node(false, true).await;
    let url = format!("https://127.0.0.1:{}", addr.port());
    let without = Transport::builder()
        .node(url.clone())
        .ca_certificate_pem(fixture("ca.crt"))
        .max_retries(0)
        .build()
        .expect("transport");
    assert!(
        without.send(get("/")).await.is_err(),
        "the server requires a client certificate"
    );
    let with = Transport::builder()
        .node(url)
        .ca_certificate_pem(fixture("ca.crt"))
        .client_certificate_pem(fixture("client.crt"), fixture("client.key"))
        .build()
        .expect("transport");
    let resp = with.send(get("/")).await.expect("mutual TLS");
    assert_eq!(resp.body(), &Bytes::from_static(br#"{"client_cert":true}"#));
    let err = Transport::builder()
        .node("https://127.0.0.1:1")
        .client_certificate_pem(fixture("client.crt"), b"not a key".to_vec())
        .build()
        .unwrap_err();
    assert!(err.is_config(), "{err:?}");
}

#[tokio::test]
async fn https_through_a_connect_proxy() {
    let addr = tls_node(false, false).await;
    // A minimal CONNECT proxy without authentication.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let proxy = listener.local_addr().expect("addr");
    let connects = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = connects.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut client, _)) = listener.accept().await {
            let c = c.clone();
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
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = client.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    let t = Transport::builder()
        .node(format!("https://localhost:{}", addr.port()))
        .ca_certificate_file(format!("{FIXTURES}/ca.crt"))
        .proxy(format!("http://{proxy}"))
        .build()
        .expect("transport");
    assert_eq!(
        t.send(get("/")).await.expect("https via proxy").status(),
        200
    );
    assert_eq!(connects.load(std::sync::atomic::Ordering::SeqCst), 1);
}
