//! Execution order: control plane first (etcd leader last), then workers; explicit order respected.

use crate::facts::{NodeFacts, NodeRole};
use crate::spec::Ordering;

/// Nodes in the order the rollout touches them.
pub(crate) fn execution_order<'a>(
    nodes: &'a [NodeFacts],
    ordering: &Ordering,
) -> Vec<&'a NodeFacts> {
    let rank = |node: &NodeFacts| {
        let explicit = ordering
            .order
            .iter()
            .position(|name| name == &node.node)
            .unwrap_or(usize::MAX);
        let leader_last = ordering.etcd_leader_last && node.etcd_leader;
        (node.role == NodeRole::Worker, leader_last, explicit)
    };
    let mut ordered: Vec<&NodeFacts> = nodes.iter().collect();
    // Stable sort keeps discovery order among equals.
    ordered.sort_by_key(|node| rank(node));
    ordered
}
