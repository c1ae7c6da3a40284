//! Which node may start next: the concurrency and ordering invariants live here.

use super::node_index::NodeIndex;
use super::node_state::NodeState;
use crate::facts::NodeRole;

/// The index of the next node allowed to start, if any.
///
/// Rules: nothing starts once the rollout is halted (every node failure halts it); nodes
/// start in plan order; a control-plane node starts only when no other node is active;
/// workers start only after every control-plane node finished, at most `max_unavailable`
/// at a time. Constant time (amortised) through the [`NodeIndex`].
pub(crate) fn next_to_start(
    nodes: &[NodeState],
    index: &mut NodeIndex,
    max_unavailable: usize,
    halted: bool,
) -> Option<usize> {
    if halted {
        return None;
    }
    let candidate = index.first_pending(nodes)?;
    let allowed = match nodes[candidate].plan.role {
        NodeRole::ControlPlane => index.active_count() == 0,
        NodeRole::Worker => {
            !index.control_plane_unfinished() && index.active_count() < max_unavailable.max(1)
        }
    };
    allowed.then_some(candidate)
}

/// The nodes whose health the precheck of node `index` leaves to the concurrency budget:
/// the other workers this rollout has taken past their own precheck and not yet finished
/// (they are down or may go down at any moment, and the scheduler already counts them
/// against `max_unavailable`).
///
/// Empty for a control-plane node (it starts only when no other node is active), so a
/// control-plane or any other node outside this rollout's active set always counts.
pub(crate) fn accounted_for(nodes: &[NodeState], active: &NodeIndex, index: usize) -> Vec<String> {
    if nodes[index].plan.role != NodeRole::Worker {
        return Vec::new();
    }
    active
        .active()
        .filter(|other| *other != index)
        .map(|other| &nodes[other])
        .filter(|node| node.plan.role == NodeRole::Worker && node.phase != super::Phase::Precheck)
        .map(|node| node.plan.node.clone())
        .collect()
}
