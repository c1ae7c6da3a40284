//! Which node may start next: the concurrency and ordering invariants live here.

use super::node_state::NodeState;
use crate::facts::NodeRole;

/// The index of the next node allowed to start, if any.
///
/// Rules: nothing starts once the rollout is halted or any node failed; nodes start in plan
/// order; a control-plane node starts only when no other node is active; workers start only
/// after every control-plane node finished, at most `max_unavailable` at a time.
pub(crate) fn next_to_start(
    nodes: &[NodeState],
    max_unavailable: usize,
    halted: bool,
) -> Option<usize> {
    if halted || nodes.iter().any(|node| node.failure.is_some()) {
        return None;
    }
    let candidate = nodes
        .iter()
        .position(|node| node.phase == super::Phase::Pending)?;
    let active: Vec<&NodeState> = nodes.iter().filter(|node| node.phase.is_active()).collect();
    let allowed = match nodes[candidate].plan.role {
        NodeRole::ControlPlane => active.is_empty(),
        NodeRole::Worker => {
            let control_plane_unfinished = nodes
                .iter()
                .any(|node| node.plan.role == NodeRole::ControlPlane && !node.phase.is_terminal());
            !control_plane_unfinished && active.len() < max_unavailable.max(1)
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
pub(crate) fn accounted_for(nodes: &[NodeState], index: usize) -> Vec<String> {
    if nodes[index].plan.role != NodeRole::Worker {
        return Vec::new();
    }
    nodes
        .iter()
        .enumerate()
        .filter(|(other, node)| {
            *other != index
                && node.plan.role == NodeRole::Worker
                && node.phase.is_active()
                && node.phase != super::Phase::Precheck
        })
        .map(|(_, node)| node.plan.node.clone())
        .collect()
}
