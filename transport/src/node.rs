//! Nodes: parsed node URLs (scheme, host, port, path prefix) without credentials.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;

use crate::auth::Credentials;
use crate::error::Error;

/// A node of the cluster: where to send requests.
///
/// A node never holds credentials: userinfo in a URL given to the builder becomes
/// the transport's credentials, and the node keeps only `scheme://host:port/prefix`.
#[derive(Clone, PartialEq, Eq)]
pub struct Node {
    scheme: http::uri::Scheme,
    host: String,
    port: u16,
    prefix: String,
    key: String,
    origin: String,
    /// The node's name, when learned by sniffing.
    pub name: Option<String>,
    /// The node's roles (`master`, `data`, `ingest`, ...), when learned by sniffing.
    pub roles: Vec<String>,
    /// The node's custom attributes, when learned by sniffing.
    pub attributes: BTreeMap<String, String>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("url", &self.key)
            .field("name", &self.name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl Node {
    /// Parses a node URL such as `https://user:pass@host:9200/prefix`.
    ///
    /// Returns the node and the credentials found in the URL's userinfo, if any.
    /// A URL without a port uses the scheme's default (80 or 443).
    pub fn parse(url: &str) -> Result<(Node, Option<Credentials>), Error> {
        let redacted = redact_url(url);
        let invalid = |reason: &str| Error::InvalidUrl {
            url: redacted.clone(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("missing scheme (http:// or https://)"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => http::uri::Scheme::HTTP,
            "https" => http::uri::Scheme::HTTPS,
            _ => return Err(invalid("the scheme must be http or https")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if path.contains(['?', '#']) {
            return Err(invalid("a node URL cannot have a query or fragment"));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = match userinfo {
            None => None,
            Some(u) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                Some(Credentials::Basic {
                    username: percent_decode(user),
                    password: percent_decode(pass),
                })
            }
        };
        let default_port = if scheme == http::uri::Scheme::HTTPS {
            443
        } else {
            80
        };
        let node = Node::from_parts(scheme, hostport, default_port, path)
            .map_err(|reason| invalid(&reason))?;
        Ok((node, credentials))
    }

    /// Builds a node from a scheme, `host[:port]`, a default port and a path prefix.
    pub(crate) fn from_parts(
        scheme: http::uri::Scheme,
        hostport: &str,
        default_port: u16,
        prefix: &str,
    ) -> Result<Node, String> {
        if hostport.is_empty() {
            return Err("missing host".into());
        }
        let authority: http::uri::Authority = hostport
            .parse()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let host = authority.host().to_string();
        if host.is_empty() {
            return Err("missing host".into());
        }
        if hostport.ends_with(':') {
            return Err("empty port".into());
        }
        let port = authority.port_u16().unwrap_or(default_port);
        let prefix = prefix.trim_end_matches('/');
        let prefix = if prefix.is_empty() || prefix.starts_with('/') {
            prefix.to_string()
        } else {
            format!("/{prefix}")
        };
        let origin = format!("{scheme}://{host}:{port}");
        let key = format!("{origin}{prefix}");
        // Validate that the result is a usable URI.
        key.parse::<http::Uri>()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        Ok(Node {
            scheme,
            host,
            port,
            prefix,
            key,
            origin,
            name: None,
            roles: Vec::new(),
            attributes: BTreeMap::new(),
        })
    }

    /// The node's URL without credentials, e.g. `http://127.0.0.1:9200/es`.
    pub fn url(&self) -> &str {
        &self.key
    }

    /// The scheme (`http` or `https`).
    pub fn scheme(&self) -> &str {
        self.scheme.as_str()
    }

    /// The host name or IP address (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path prefix (empty or `/something` without a trailing slash).
    pub fn path_prefix(&self) -> &str {
        &self.prefix
    }

    /// `scheme://host:port`, as used in errors and logs.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the node uses HTTPS.
    pub fn is_https(&self) -> bool {
        self.scheme == http::uri::Scheme::HTTPS
    }

    /// Whether the node has the given role (only known for sniffed nodes).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The full URI of a request whose target is `path_and_query` (starting with `/`).
    pub(crate) fn request_uri(&self, path_and_query: &str) -> Result<http::Uri, Error> {
        let pq = if path_and_query.starts_with('/') {
            path_and_query.to_string()
        } else {
            format!("/{path_and_query}")
        };
        let uri = format!("{}{}", self.key, pq);
        uri.parse()
            .map_err(|e: http::uri::InvalidUri| Error::InvalidUrl {
                url: uri,
                reason: e.to_string(),
            })
    }

    /// A node on another host/port that inherits this node's scheme and path prefix.
    pub(crate) fn sibling(&self, hostport: &str) -> Result<Node, String> {
        let default_port = self.port;
        Node::from_parts(self.scheme.clone(), hostport, default_port, &self.prefix)
    }
}

/// Decodes a Cloud ID (`name:base64(host[:port]$es_uuid[:port]$kibana_uuid)`) into the
/// Elasticsearch URL `https://es_uuid.host:port` (port 443 unless one is given).
pub fn cloud_id_to_url(cloud_id: &str) -> Result<String, Error> {
    let bad = |reason: &str| Error::config(format!("invalid Cloud ID: {reason}"));
    let encoded = cloud_id
        .rsplit_once(':')
        .map(|(_, e)| e)
        .ok_or_else(|| bad("expected `name:base64`"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded.trim()))
        .map_err(|_| bad("the part after `:` is not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad("not UTF-8"))?;
    let mut parts = decoded.trim_end_matches('\n').split('$');
    let host = parts
        .next()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host"))?;
    let es = parts
        .next()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no Elasticsearch id"))?;
    let (host, mut port) = match host.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("invalid port"))?),
        None => (host, 443),
    };
    let es = match es.rsplit_once(':') {
        Some((e, p)) => {
            port = p.parse::<u16>().map_err(|_| bad("invalid port"))?;
            e
        }
        None => es,
    };
    Ok(format!("https://{es}.{host}:{port}"))
}

/// Replaces the userinfo of a URL with `***`, for logs and messages:
/// `https://elastic:secret@host:9200/` becomes `https://***@host:9200/`.
///
/// ```
/// use elasticsearch_transport::redact_url;
/// assert_eq!(redact_url("http://u:pw@localhost:9200"), "http://***@localhost:9200");
/// assert_eq!(redact_url("http://localhost:9200"), "http://localhost:9200");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Without a scheme we cannot tell where userinfo would be: hide anything before '@'.
        return match url.rsplit_once('@') {
            Some((_, h)) => format!("***@{h}"),
            None => url.to_string(),
        };
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{path}"),
        None => url.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefix_and_credentials() {
        let (node, creds) = Node::parse("http://elastic:p%40ss@127.0.0.1:9200/es/").unwrap();
        assert_eq!(node.url(), "http://127.0.0.1:9200/es");
        assert_eq!(node.path_prefix(), "/es");
        match creds {
            Some(Credentials::Basic { username, password }) => {
                assert_eq!(username, "elastic");
                assert_eq!(password, "p@ss");
            }
            other => panic!("unexpected {other:?}"),
        }
        let (node, creds) = Node::parse("https://[::1]:9201").unwrap();
        assert!(creds.is_none());
        assert_eq!(node.url(), "https://[::1]:9201");
        assert_eq!(Node::parse("https://example.com").unwrap().0.port(), 443);
    }

    #[test]
    fn invalid_urls_are_redacted() {
        let err = Node::parse("ftp://u:S3cr3t@host").unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("S3cr3t"), "{text}");
        assert!(Node::parse("http://").is_err());
        assert!(Node::parse("http://host:").is_err());
        assert!(Node::parse("localhost:9200").is_err());
    }

    #[test]
    fn request_uri_joins_prefix() {
        let (node, _) = Node::parse("http://127.0.0.1:1/es/").unwrap();
        assert_eq!(
            node.request_uri("/my-index/_search?size=1")
                .unwrap()
                .to_string(),
            "http://127.0.0.1:1/es/my-index/_search?size=1"
        );
        let (node, _) = Node::parse("http://127.0.0.1:1").unwrap();
        assert_eq!(
            node.request_uri("/").unwrap().to_string(),
            "http://127.0.0.1:1/"
        );
    }

    #[test]
    fn cloud_id() {
        let enc = base64::engine::general_purpose::STANDARD;
        let id = format!("my:{}", enc.encode("eu-west-1.aws.found.io$abc123$def456"));
        assert_eq!(
            cloud_id_to_url(&id).unwrap(),
            "https://abc123.eu-west-1.aws.found.io:443"
        );
        let id = format!(
            "my:{}",
            enc.encode("eu-west-1.aws.found.io:9243$abc123$def456")
        );
        assert_eq!(
            cloud_id_to_url(&id).unwrap(),
            "https://abc123.eu-west-1.aws.found.io:9243"
        );
        let id = format!("my:{}", enc.encode("host$abc:9244$k"));
        assert_eq!(cloud_id_to_url(&id).unwrap(), "https://abc.host:9244");
        assert!(cloud_id_to_url("nonsense").is_err());
        assert!(cloud_id_to_url("x:!!!").is_err());
    }
}
