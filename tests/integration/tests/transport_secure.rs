//! The transport against a secure node: TLS trust (CA file, fingerprint pin), failures
//! for a wrong pin and an untrusted certificate, and each authentication form.
//!
//! Needs `cargo xtask es start --secure`; run with `cargo test -p integration-tests
//! --test transport_secure -- --ignored`.

use bytes::Bytes;
use elasticsearch_transport::{Credentials, Transport, TransportBuilder};
use local_node::ClusterInfo;
use serde_json::Value;

const NEEDS: &str = "cargo xtask es start --secure";

struct Secure {
    url: String,
    ca_cert: String,
    fingerprint: String,
    username: String,
    password: String,
}

fn secure() -> Secure {
    let info: ClusterInfo = local_node::cluster_info()
        .unwrap_or_else(|e| panic!("no running cluster ({e:#}); this test needs `{NEEDS}`"));
    assert!(
        info.secure,
        "this test needs `{NEEDS}`, but the running cluster has no security"
    );
    let missing = |what: &str| format!("cluster.json has no {what}; restart with `{NEEDS}`");
    let url = info.nodes.first().expect("a node").http_url.clone();
    assert!(
        url.starts_with("https://"),
        "secure node URL is not https: {url}"
    );
    Secure {
        url,
        ca_cert: info
            .ca_cert
            .clone()
            .unwrap_or_else(|| panic!("{}", missing("ca_cert"))),
        fingerprint: info
            .ca_fingerprint
            .clone()
            .unwrap_or_else(|| panic!("{}", missing("ca_fingerprint"))),
        username: info
            .username
            .clone()
            .unwrap_or_else(|| panic!("{}", missing("username"))),
        password: info
            .password
            .clone()
            .unwrap_or_else(|| panic!("{}", missing("password"))),
    }
}

impl Secure {
    fn trusted(&self) -> TransportBuilder {
        Transport::builder()
            .node(self.url.clone())
            .ca_certificate_file(&self.ca_cert)
    }
}

fn get(path: &str) -> http::Request<Bytes> {
    http::Request::get(path)
        .header("accept", "application/json")
        .body(Bytes::new())
        .expect("request")
}

fn post(path: &str, body: Value) -> http::Request<Bytes> {
    http::Request::post(path)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .expect("request")
}

fn json(resp: &http::Response<Bytes>) -> Value {
    serde_json::from_slice(resp.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(resp.body())))
}

async fn authenticate(t: &Transport) -> Value {
    let resp = t
        .send(get("/_security/_authenticate"))
        .await
        .expect("authenticate");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    json(&resp)
}

#[tokio::test]
#[ignore = "needs: cargo xtask es start --secure"]
async fn tls_with_ca_file_and_with_fingerprint_pin() {
    let s = secure();
    let t = s
        .trusted()
        .basic_auth(&s.username, &s.password)
        .build()
        .expect("transport");
    let who = authenticate(&t).await;
    assert_eq!(who["username"], s.username);

    // Elasticsearch prints the fingerprint with colons; both forms are accepted.
    for pin in [s.fingerprint.clone(), colon_hex(&s.fingerprint)] {
        let t = Transport::builder()
            .node(s.url.clone())
            .ca_fingerprint(&pin)
            .basic_auth(&s.username, &s.password)
            .build()
            .expect("transport");
        assert_eq!(authenticate(&t).await["username"], s.username);
    }
}

fn colon_hex(hex: &str) -> String {
    let clean: String = hex.chars().filter(|c| *c != ':').collect();
    clean
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

#[tokio::test]
#[ignore = "needs: cargo xtask es start --secure"]
async fn wrong_fingerprint_and_untrusted_certificate_fail() {
    let s = secure();
    let wrong = "00".repeat(32);
    let t = Transport::builder()
        .node(s.url.clone())
        .ca_fingerprint(&wrong)
        .basic_auth(&s.username, &s.password)
        .build()
        .expect("transport");
    let err = t.send(get("/")).await.expect_err("a wrong pin must fail");
    assert!(err.is_tls(), "expected a TLS error, got {err:?}");
    assert!(format!("{err:?}").contains("fingerprint"), "{err:?}");

    // Default trust (webpki roots) does not know the cluster's own CA.
    let t = Transport::builder()
        .node(s.url.clone())
        .basic_auth(&s.username, &s.password)
        .build()
        .expect("transport");
    let err = t
        .send(get("/"))
        .await
        .expect_err("an untrusted certificate must fail");
    assert!(err.is_tls(), "expected a TLS error, got {err:?}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(&s.password), "the password leaked: {text}");

    // The loudly named escape hatch works.
    let t = Transport::builder()
        .node(s.url.clone())
        .danger_accept_invalid_certs(true)
        .basic_auth(&s.username, &s.password)
        .build()
        .expect("transport");
    assert_eq!(authenticate(&t).await["username"], s.username);
}

#[tokio::test]
#[ignore = "needs: cargo xtask es start --secure"]
async fn basic_bearer_and_api_key_authenticate_and_wrong_password_is_401() {
    let s = secure();
    let admin = s
        .trusted()
        .basic_auth(&s.username, &s.password)
        .build()
        .expect("transport");
    assert_eq!(authenticate(&admin).await["authentication_type"], "realm");

    // Credentials in the URL.
    let with_userinfo = s.url.replacen(
        "https://",
        &format!("https://{}:{}@", s.username, s.password),
        1,
    );
    let t = Transport::builder()
        .node(with_userinfo)
        .ca_certificate_file(&s.ca_cert)
        .build()
        .expect("transport");
    assert_eq!(authenticate(&t).await["username"], s.username);

    // Bearer token from the get-token API.
    let resp = admin
        .send(post(
            "/_security/oauth2/token",
            serde_json::json!({"grant_type": "password", "username": s.username, "password": s.password}),
        ))
        .await
        .expect("token");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let token = json(&resp)["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let t = s.trusted().bearer_auth(token).build().expect("transport");
    assert_eq!(authenticate(&t).await["authentication_type"], "token");

    // API key created through the API, as id+key and as the encoded form.
    let resp = admin
        .send(post(
            "/_security/api_key",
            serde_json::json!({"name": "transport-secure-test"}),
        ))
        .await
        .expect("api key");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let key = json(&resp);
    let (id, secret, encoded) = (
        key["id"].as_str().expect("id").to_string(),
        key["api_key"].as_str().expect("api_key").to_string(),
        key["encoded"].as_str().expect("encoded").to_string(),
    );
    for creds in [
        Credentials::api_key(id.clone(), secret),
        Credentials::encoded_api_key(encoded),
    ] {
        let t = s.trusted().credentials(creds).build().expect("transport");
        let who = authenticate(&t).await;
        assert_eq!(who["authentication_type"], "api_key");
        assert_eq!(who["api_key"]["id"], id.as_str());
    }

    // Rotation on a live transport: from the API key back to basic.
    let t = s
        .trusted()
        .bearer_auth("not-a-token")
        .build()
        .expect("transport");
    assert_eq!(
        t.send(get("/_security/_authenticate"))
            .await
            .expect("send")
            .status(),
        401
    );
    t.set_credentials(Some(Credentials::basic(&s.username, &s.password)))
        .expect("rotate");
    assert_eq!(authenticate(&t).await["username"], s.username);

    // A wrong password: a 401 response carrying Elasticsearch's reason.
    let t = s
        .trusted()
        .basic_auth(&s.username, "definitely-wrong")
        .build()
        .expect("transport");
    let resp = t.send(get("/")).await.expect("a 401 is a response");
    assert_eq!(resp.status(), 401);
    let api = elasticsearch_client::ApiError::new("info", 401, resp.body().clone());
    assert_eq!(
        api.error_type.as_deref(),
        Some("security_exception"),
        "{api:?}"
    );
    let reason = api.reason.clone().unwrap_or_default();
    assert!(reason.contains("unable to authenticate"), "{reason}");
    assert!(!format!("{api:?} {api}").contains("definitely-wrong"));
}
