//! Node selection among the live nodes of the pool.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::node::Node;

/// Picks the node for the next attempt among candidates.
///
/// The pool calls `select` with a non-empty slice of live nodes (not yet tried by
/// the current request where possible). Implementations can prefer nodes by their
/// sniffed [`Node::attributes`] or [`Node::roles`]. Returning an index out of range
/// is treated as `0`.
pub trait Selector: Send + Sync + fmt::Debug + 'static {
    /// Returns the index of the chosen node in `nodes`.
    fn select(&self, nodes: &[Arc<Node>]) -> usize;
}

/// Round-robin over the live nodes (the default).
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl Selector for RoundRobin {
    fn select(&self, nodes: &[Arc<Node>]) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % nodes.len().max(1)
    }
}

/// Uniformly random choice among the live nodes.
#[derive(Debug, Default)]
pub struct Random;

impl Selector for Random {
    fn select(&self, nodes: &[Arc<Node>]) -> usize {
        rand::random_range(0..nodes.len().max(1))
    }
}
