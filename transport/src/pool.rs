//! The node pool: membership, selection and dead-node backoff, and the layer that
//! picks a node for each attempt and records its outcome.
//!
//! # Dead nodes
//!
//! A node is marked dead after a connection error, a TLS failure, a timeout, or a
//! `502`/`503`/`504` response. It is *not* marked dead on `429` (back-pressure) nor
//! on any other status. A dead node is skipped until its dead time expires:
//!
//! ```text
//! dead_for = min(max_timeout, initial_timeout * 2^(failures - 1))
//! ```
//!
//! with `initial_timeout` = 1 s and `max_timeout` = 30 s by default
//! ([`DeadNodeBackoff`]). After that the node is resurrected: it is selectable again,
//! but keeps its failure count, so a node that fails again stays out for twice as
//! long. The count is reset only by a healthy response (any status other than
//! 429/502/503/504). When every node is dead, the node that comes back soonest is
//! tried instead of failing without trying: the pool never refuses to send.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Error;
use crate::node::Node;
use crate::selector::Selector;

/// How long dead nodes are left out: `min(max_timeout, initial_timeout * 2^(failures-1))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadNodeBackoff {
    /// Dead time after the first failure (default 1 s).
    pub initial_timeout: Duration,
    /// Upper bound of the dead time (default 30 s).
    pub max_timeout: Duration,
}

impl Default for DeadNodeBackoff {
    fn default() -> Self {
        Self {
            initial_timeout: Duration::from_secs(1),
            max_timeout: Duration::from_secs(30),
        }
    }
}

impl DeadNodeBackoff {
    /// Builds a backoff policy.
    pub fn new(initial_timeout: Duration, max_timeout: Duration) -> Self {
        Self {
            initial_timeout,
            max_timeout,
        }
    }

    /// The dead time after `failures` consecutive failures (`failures >= 1`).
    pub fn dead_time(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(31);
        self.initial_timeout
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_timeout)
            .min(self.max_timeout)
    }
}

/// A snapshot of one pool member, from [`crate::Transport::nodes`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeStatus {
    /// The node.
    pub node: Arc<Node>,
    /// Consecutive failures since the last healthy response.
    pub failures: u32,
    /// Whether the node is currently dead (its dead time has not expired).
    pub dead: bool,
    /// Time left until the node is resurrected, when dead.
    pub dead_for: Option<Duration>,
    /// Whether the node is one of the configured seeds.
    pub seed: bool,
}

#[derive(Debug)]
struct Member {
    node: Arc<Node>,
    failures: u32,
    dead_until: Option<Instant>,
}

/// The set of nodes requests can go to.
#[derive(Debug)]
pub(crate) struct Pool {
    members: RwLock<Vec<Member>>,
    seeds: Vec<Arc<Node>>,
    selector: Arc<dyn Selector>,
    backoff: DeadNodeBackoff,
    on_failure: Option<Arc<Notify>>,
}

impl Pool {
    pub(crate) fn new(
        seeds: Vec<Node>,
        selector: Arc<dyn Selector>,
        backoff: DeadNodeBackoff,
        on_failure: Option<Arc<Notify>>,
    ) -> Self {
        let seeds: Vec<Arc<Node>> = seeds.into_iter().map(Arc::new).collect();
        let members = seeds
            .iter()
            .map(|n| Member {
                node: n.clone(),
                failures: 0,
                dead_until: None,
            })
            .collect();
        Self {
            members: RwLock::new(members),
            seeds,
            selector,
            backoff,
            on_failure,
        }
    }

    pub(crate) fn status(&self) -> Vec<NodeStatus> {
        let now = Instant::now();
        let members = self.members.read().unwrap_or_else(|e| e.into_inner());
        members
            .iter()
            .map(|m| {
                let dead_for = m
                    .dead_until
                    .filter(|t| *t > now)
                    .map(|t| t.saturating_duration_since(now));
                NodeStatus {
                    node: m.node.clone(),
                    failures: m.failures,
                    dead: dead_for.is_some(),
                    dead_for,
                    seed: self.seeds.iter().any(|s| s.url() == m.node.url()),
                }
            })
            .collect()
    }

    /// Picks the node for an attempt. `tried` holds the URLs of nodes the request
    /// already went to; they are avoided while other choices exist.
    pub(crate) fn select(&self, tried: &[String]) -> Option<Arc<Node>> {
        let now = Instant::now();
        let members = self.members.read().unwrap_or_else(|e| e.into_inner());
        if members.is_empty() {
            return None;
        }
        let untried = |m: &&Member| !tried.iter().any(|t| t == m.node.origin());
        let is_live = |m: &&Member| m.dead_until.is_none_or(|t| t <= now);
        let live_untried: Vec<Arc<Node>> = members
            .iter()
            .filter(is_live)
            .filter(untried)
            .map(|m| m.node.clone())
            .collect();
        let candidates = if live_untried.is_empty() {
            members
                .iter()
                .filter(is_live)
                .map(|m| m.node.clone())
                .collect()
        } else {
            live_untried
        };
        if !candidates.is_empty() {
            let i = self.selector.select(&candidates);
            return Some(candidates.get(i).unwrap_or(&candidates[0]).clone());
        }
        // Every node is dead: the one that comes back soonest, preferring untried ones.
        let soonest = |it: &mut dyn Iterator<Item = &Member>| {
            it.min_by_key(|m| m.dead_until).map(|m| m.node.clone())
        };
        soonest(&mut members.iter().filter(|m| untried(m))).or_else(|| soonest(&mut members.iter()))
    }

    pub(crate) fn mark_dead(&self, node: &Node) {
        let now = Instant::now();
        {
            let mut members = self.members.write().unwrap_or_else(|e| e.into_inner());
            if let Some(m) = members.iter_mut().find(|m| m.node.url() == node.url()) {
                m.failures = m.failures.saturating_add(1);
                let dead_for = self.backoff.dead_time(m.failures);
                m.dead_until = Some(now + dead_for);
                tracing::warn!(
                    node = %node,
                    failures = m.failures,
                    dead_for_ms = dead_for.as_millis() as u64,
                    "node marked dead"
                );
            }
        }
        if let Some(notify) = &self.on_failure {
            notify.notify_one();
        }
    }

    pub(crate) fn mark_alive(&self, node: &Node) {
        let needs_update = {
            let members = self.members.read().unwrap_or_else(|e| e.into_inner());
            members
                .iter()
                .any(|m| m.node.url() == node.url() && (m.failures > 0 || m.dead_until.is_some()))
        };
        if needs_update {
            let mut members = self.members.write().unwrap_or_else(|e| e.into_inner());
            if let Some(m) = members.iter_mut().find(|m| m.node.url() == node.url()) {
                if m.failures > 0 {
                    tracing::info!(node = %node, "node healthy again");
                }
                m.failures = 0;
                m.dead_until = None;
            }
        }
    }

    /// Replaces the membership with `nodes` plus the seeds; nodes already known keep
    /// their failure state.
    pub(crate) fn replace(&self, nodes: Vec<Node>) {
        let mut members = self.members.write().unwrap_or_else(|e| e.into_inner());
        let mut old: Vec<Member> = std::mem::take(&mut *members);
        let mut take = |node: Arc<Node>, out: &mut Vec<Member>| {
            if out.iter().any(|m| m.node.url() == node.url()) {
                return;
            }
            match old.iter().position(|m| m.node.url() == node.url()) {
                Some(i) => {
                    let mut m = old.swap_remove(i);
                    m.node = node;
                    out.push(m);
                }
                None => out.push(Member {
                    node,
                    failures: 0,
                    dead_until: None,
                }),
            }
        };
        let mut next = Vec::new();
        for node in nodes {
            take(Arc::new(node), &mut next);
        }
        for seed in &self.seeds {
            take(seed.clone(), &mut next);
        }
        *members = next;
    }
}

/// The node an attempt goes to (request extension set by [`Pooled`]).
#[derive(Clone, Debug)]
pub struct SelectedNode(pub Arc<Node>);

/// The node that produced a response (response extension).
#[derive(Clone, Debug)]
pub struct ServedBy(pub Arc<Node>);

/// Nodes already tried by the current request (request extension set by the retry layer).
#[derive(Clone, Debug, Default)]
pub(crate) struct Tried(pub(crate) Vec<String>);

/// Whether a status marks the node dead.
pub(crate) fn is_node_failure_status(status: http::StatusCode) -> bool {
    matches!(status.as_u16(), 502..=504)
}

/// Picks a node for each attempt and records the outcome in the pool.
#[derive(Clone, Debug)]
pub struct Pooled<S> {
    inner: S,
    pool: Arc<Pool>,
}

/// Layer for [`Pooled`].
#[derive(Clone, Debug)]
pub struct PoolLayer {
    pool: Arc<Pool>,
}

impl PoolLayer {
    pub(crate) fn new(pool: Arc<Pool>) -> Self {
        Self { pool }
    }
}

impl<S> Layer<S> for PoolLayer {
    type Service = Pooled<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Pooled {
            inner,
            pool: self.pool.clone(),
        }
    }
}

/// Future of [`Pooled`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, Error>> + Send + 'static>>;

impl<S> Service<http::Request<Bytes>> for Pooled<S>
where
    S: Service<http::Request<Bytes>, Response = http::Response<Bytes>, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Bytes>;
    type Error = Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Bytes>) -> Self::Future {
        let node = match request.extensions().get::<SelectedNode>() {
            // A caller (e.g. the sniffer) may target a node explicitly.
            Some(SelectedNode(node)) => Some(node.clone()),
            None => {
                let tried = request
                    .extensions()
                    .get::<Tried>()
                    .map(|t| t.0.as_slice())
                    .unwrap_or(&[]);
                self.pool.select(tried)
            }
        };
        let Some(node) = node else {
            return Box::pin(async { Err(Error::config("the transport has no nodes")) });
        };
        let span = tracing::Span::current();
        if !span.is_disabled() {
            span.record(
                "server.address",
                node.host().trim_start_matches('[').trim_end_matches(']'),
            );
            span.record("server.port", node.port());
            let target = request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or("/");
            span.record("url.full", format!("{}{}", node.url(), target));
        }
        request.extensions_mut().insert(SelectedNode(node.clone()));
        let fut = self.inner.call(request);
        let pool = self.pool.clone();
        Box::pin(async move {
            match fut.await {
                Ok(mut response) => {
                    let status = response.status();
                    if is_node_failure_status(status) {
                        pool.mark_dead(&node);
                    } else if status != http::StatusCode::TOO_MANY_REQUESTS {
                        pool.mark_alive(&node);
                    }
                    response.extensions_mut().insert(ServedBy(node));
                    Ok(response)
                }
                Err(error) => {
                    if matches!(
                        error,
                        Error::Connect { .. }
                            | Error::Tls { .. }
                            | Error::Request { .. }
                            | Error::Timeout { .. }
                    ) {
                        pool.mark_dead(&node);
                    }
                    Err(error)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::RoundRobin;

    fn pool(n: usize) -> Pool {
        let nodes = (0..n)
            .map(|i| {
                Node::parse(&format!("http://127.0.0.1:{}", 9200 + i))
                    .unwrap()
                    .0
            })
            .collect();
        Pool::new(
            nodes,
            Arc::new(RoundRobin::default()),
            DeadNodeBackoff::default(),
            None,
        )
    }

    #[test]
    fn backoff_formula() {
        let b = DeadNodeBackoff::default();
        assert_eq!(b.dead_time(1), Duration::from_secs(1));
        assert_eq!(b.dead_time(2), Duration::from_secs(2));
        assert_eq!(b.dead_time(5), Duration::from_secs(16));
        assert_eq!(b.dead_time(6), Duration::from_secs(30));
        assert_eq!(b.dead_time(1000), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn dead_nodes_are_skipped_and_resurrected() {
        let pool = pool(2);
        let a = pool.select(&[]).unwrap();
        pool.mark_dead(&a);
        for _ in 0..4 {
            assert_ne!(pool.select(&[]).unwrap().url(), a.url());
        }
        tokio::time::advance(Duration::from_millis(1001)).await;
        let picks: Vec<_> = (0..4)
            .map(|_| pool.select(&[]).unwrap().url().to_string())
            .collect();
        assert!(picks.iter().any(|p| p == a.url()), "{picks:?}");
        // Resurrection keeps the failure count: the next failure doubles the dead time.
        pool.mark_dead(&a);
        let st = pool
            .status()
            .into_iter()
            .find(|s| s.node.url() == a.url())
            .unwrap();
        assert_eq!(st.failures, 2);
        assert_eq!(st.dead_for, Some(Duration::from_secs(2)));
        pool.mark_alive(&a);
        let st = pool
            .status()
            .into_iter()
            .find(|s| s.node.url() == a.url())
            .unwrap();
        assert_eq!((st.failures, st.dead), (0, false));
    }

    #[tokio::test(start_paused = true)]
    async fn all_dead_picks_soonest_back() {
        let pool = pool(3);
        let nodes: Vec<_> = pool.status().into_iter().map(|s| s.node).collect();
        pool.mark_dead(&nodes[0]);
        pool.mark_dead(&nodes[0]); // 2 s
        pool.mark_dead(&nodes[1]); // 1 s
        pool.mark_dead(&nodes[2]);
        pool.mark_dead(&nodes[2]);
        pool.mark_dead(&nodes[2]); // 4 s
        assert_eq!(pool.select(&[]).unwrap().url(), nodes[1].url());
        // Avoids nodes already tried while another exists.
        assert_eq!(
            pool.select(&[nodes[1].origin().to_string()]).unwrap().url(),
            nodes[0].url()
        );
    }

    #[test]
    fn replace_keeps_seeds_and_state() {
        let pool = pool(1);
        let seed = pool.status()[0].node.clone();
        let other = Node::parse("http://10.0.0.1:9200").unwrap().0;
        pool.replace(vec![other.clone(), (*seed).clone()]);
        assert_eq!(pool.status().len(), 2);
        pool.replace(vec![Node::parse("http://10.0.0.2:9200").unwrap().0]);
        let urls: Vec<_> = pool
            .status()
            .iter()
            .map(|s| s.node.url().to_string())
            .collect();
        assert_eq!(urls, vec!["http://10.0.0.2:9200", "http://127.0.0.1:9200"]);
    }
}
