//! Sniffing: learning the cluster's HTTP nodes from `GET /_nodes/_all/http`.
//!
//! Sniffing runs in a background task, off the request path: on start (the first
//! request waits for it), after a node failure (at most once per
//! `min_delay_on_failure`), and on an interval. The pool's membership is replaced by
//! the sniffed nodes plus the seeds. A failed sniff is logged and retried at the next
//! trigger; it never stops sniffing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;

/// Decides which sniffed nodes join the pool.
pub trait NodeFilter: Send + Sync + 'static {
    /// Whether requests may go to `node`.
    fn accept(&self, node: &Node) -> bool;
}

impl<F> NodeFilter for F
where
    F: Fn(&Node) -> bool + Send + Sync + 'static,
{
    fn accept(&self, node: &Node) -> bool {
        self(node)
    }
}

/// The default filter: skips dedicated master nodes (every role is `master` or `voting_only`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SkipMasterOnly;

impl NodeFilter for SkipMasterOnly {
    fn accept(&self, node: &Node) -> bool {
        node.roles.is_empty()
            || !node
                .roles
                .iter()
                .all(|r| r == "master" || r == "voting_only")
    }
}

/// Sniffing settings.
#[derive(Clone)]
pub(crate) struct SniffSettings {
    pub(crate) on_start: bool,
    pub(crate) on_failure: bool,
    pub(crate) interval: Option<Duration>,
    pub(crate) timeout: Duration,
    pub(crate) min_delay_on_failure: Duration,
    pub(crate) filter: Arc<dyn NodeFilter>,
}

impl Default for SniffSettings {
    fn default() -> Self {
        Self {
            on_start: false,
            on_failure: false,
            interval: None,
            timeout: Duration::from_secs(5),
            min_delay_on_failure: Duration::from_secs(10),
            filter: Arc::new(SkipMasterOnly),
        }
    }
}

impl SniffSettings {
    pub(crate) fn enabled(&self) -> bool {
        self.on_start || self.on_failure || self.interval.is_some()
    }
}

impl fmt::Debug for SniffSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SniffSettings")
            .field("on_start", &self.on_start)
            .field("on_failure", &self.on_failure)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("min_delay_on_failure", &self.min_delay_on_failure)
            .finish_non_exhaustive()
    }
}

/// Turns a `publish_address` into `host:port`.
///
/// Accepted forms: `ip:port`, `hostname/ip:port` (the host name is used),
/// `[v6]:port` and `hostname/[v6]:port`. An address without a port is rejected
/// (a default of 80/443 would be wrong for Elasticsearch).
pub fn parse_publish_address(address: &str) -> Option<String> {
    let address = address.trim();
    let (hostname, addr) = match address.split_once('/') {
        Some((h, a)) => (Some(h).filter(|h| !h.is_empty()), a),
        None => (None, address),
    };
    let (ip, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        (format!("[{ip}]"), after.strip_prefix(':')?)
    } else {
        let (ip, port) = addr.rsplit_once(':')?;
        if ip.contains(':') {
            // A bare IPv6 address with a port is ambiguous without brackets.
            return None;
        }
        (ip.to_string(), port)
    };
    let port: u16 = port.parse().ok()?;
    if port == 0 {
        return None;
    }
    let host = match hostname {
        Some(h) if !h.contains([':', '[', ']', ' ', '@']) => h.to_string(),
        Some(_) => return None,
        None => ip,
    };
    if host.is_empty() || host == "[]" {
        return None;
    }
    Some(format!("{host}:{port}"))
}

/// Parses a `GET /_nodes/_all/http` reply into nodes inheriting `seed`'s scheme and prefix.
///
/// Entries without `http.publish_address`, with an unparseable one, or rejected by
/// `filter` are skipped (with a warning for the first two). Returns `None` if the
/// reply is not a nodes-info document at all.
pub(crate) fn parse_nodes(body: &[u8], seed: &Node, filter: &dyn NodeFilter) -> Option<Vec<Node>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let nodes = value.get("nodes")?.as_object()?;
    let mut out = Vec::new();
    for (id, info) in nodes {
        let Some(address) = info
            .get("http")
            .and_then(|h| h.get("publish_address"))
            .and_then(|a| a.as_str())
        else {
            tracing::warn!(node_id = %id, "sniffed node has no HTTP publish address; skipped");
            continue;
        };
        let Some(hostport) = parse_publish_address(address) else {
            tracing::warn!(node_id = %id, address, "cannot parse a sniffed publish address; skipped");
            continue;
        };
        let mut node = match seed.sibling(&hostport) {
            Ok(node) => node,
            Err(reason) => {
                tracing::warn!(node_id = %id, address, reason, "invalid sniffed node address; skipped");
                continue;
            }
        };
        node.name = info
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string);
        node.roles = info
            .get("roles")
            .and_then(|r| r.as_array())
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        node.attributes = info
            .get("attributes")
            .and_then(|a| a.as_object())
            .map(|a| {
                a.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        if filter.accept(&node) {
            out.push(node);
        }
    }
    out.sort_by(|a, b| a.url().cmp(b.url()));
    out.dedup_by(|a, b| a.url() == b.url());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_address_forms() {
        let p = parse_publish_address;
        assert_eq!(
            p("es-node-1.example.internal/192.0.2.10:9202").as_deref(),
            Some("es-node-1.example.internal:9202")
        );
        assert_eq!(p("192.0.2.11:9200").as_deref(), Some("192.0.2.11:9200"));
        assert_eq!(
            p("[2001:db8::1]:9200").as_deref(),
            Some("[2001:db8::1]:9200")
        );
        assert_eq!(
            p("es-node-4.example.internal/[2001:db8::4]:9201").as_deref(),
            Some("es-node-4.example.internal:9201")
        );
        assert_eq!(p("/127.0.0.1:9200").as_deref(), Some("127.0.0.1:9200"));
        for bad in [
            "",
            "garbage",
            "host",
            "1.2.3.4",
            "1.2.3.4:x",
            "2001:db8::1:9200",
            "[::1]",
            "h/1.2.3.4:70000",
            ":9200",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_c10_reply() {
        let seed = Node::parse("https://10.0.0.1:9200/es").unwrap().0;
        let body = br#"{"nodes":{
            "a":{"name":"n1","roles":["data","master"],"http":{"publish_address":"es-node-1.example.internal/192.0.2.10:9202"}},
            "b":{"roles":["ingest"],"http":{"publish_address":"192.0.2.11:9200"}},
            "c":{"http":{"publish_address":"[2001:db8::1]:9200"}},
            "d":{"http":{"publish_address":"es-node-4.example.internal/[2001:db8::4]:9201"},"attributes":{"zone":"z1"}},
            "e":{"roles":["master"],"http":{"publish_address":"192.0.2.12:9200"}},
            "f":{"roles":["data"]},
            "g":{"http":{"publish_address":"not an address"}}
        }}"#;
        let nodes = parse_nodes(body, &seed, &SkipMasterOnly).unwrap();
        let urls: Vec<_> = nodes.iter().map(|n| n.url()).collect();
        assert_eq!(
            urls,
            vec![
                "https://192.0.2.11:9200/es",
                "https://[2001:db8::1]:9200/es",
                "https://es-node-1.example.internal:9202/es",
                "https://es-node-4.example.internal:9201/es",
            ]
        );
        let n4 = nodes.iter().find(|n| n.port() == 9201).unwrap();
        assert_eq!(n4.attributes.get("zone").map(String::as_str), Some("z1"));
        assert!(parse_nodes(b"<html>", &seed, &SkipMasterOnly).is_none());
        assert!(parse_nodes(br#"{"nodes":[]}"#, &seed, &SkipMasterOnly).is_none());
        let all = |_: &Node| true;
        assert_eq!(parse_nodes(body, &seed, &all).unwrap().len(), 5);
    }
}
