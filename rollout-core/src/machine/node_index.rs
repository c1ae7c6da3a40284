//! Bookkeeping derived from the nodes' phases, kept current on every phase change, so that a
//! step of the machine costs time in the number of *active* nodes (at most
//! `max_unavailable`), not in the size of the cluster.
//!
//! Without it every `poll_action`/`handle` scanned all nodes several times, which made a
//! whole rollout quadratic in the node count.

use std::collections::{BTreeSet, HashMap};

use super::Phase;
use super::node_state::NodeState;
use crate::facts::NodeRole;

/// What the machine would otherwise recompute by scanning every node.
#[derive(Debug, Default)]
pub(crate) struct NodeIndex {
    /// Node name → position in plan order.
    by_name: HashMap<String, usize>,
    /// Positions of the nodes in an active phase (started, not finished), in plan order.
    active: BTreeSet<usize>,
    /// No node before this position is pending (advanced lazily).
    pending_from: usize,
    /// Control-plane nodes not in a terminal phase.
    unfinished_control_planes: usize,
    /// Nodes in a terminal phase.
    terminal: usize,
}

impl NodeIndex {
    /// Derives the index from the nodes as they are (after construction or a resume that
    /// set phases directly).
    pub(crate) fn build(nodes: &[NodeState]) -> Self {
        let mut index = NodeIndex {
            by_name: nodes
                .iter()
                .enumerate()
                .map(|(position, node)| (node.plan.node.clone(), position))
                .collect(),
            ..NodeIndex::default()
        };
        for (position, node) in nodes.iter().enumerate() {
            index.count(position, node.plan.role, node.phase, 1);
        }
        index
    }

    /// Records that node `position` (of `role`) went from phase `from` to `to`.
    pub(crate) fn phase_changed(
        &mut self,
        position: usize,
        role: NodeRole,
        from: Phase,
        to: Phase,
    ) {
        self.count(position, role, from, -1);
        self.count(position, role, to, 1);
    }

    fn count(&mut self, position: usize, role: NodeRole, phase: Phase, sign: i8) {
        let add = |value: &mut usize| {
            *value = if sign > 0 {
                *value + 1
            } else {
                value.saturating_sub(1)
            };
        };
        if phase.is_active() {
            if sign > 0 {
                self.active.insert(position);
            } else {
                self.active.remove(&position);
            }
        }
        if phase.is_terminal() {
            add(&mut self.terminal);
        } else if role == NodeRole::ControlPlane {
            add(&mut self.unfinished_control_planes);
        }
        if phase == Phase::Pending && sign > 0 {
            self.pending_from = self.pending_from.min(position);
        }
    }

    /// The position of the node named `name`.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Positions of the active nodes, in plan order.
    pub(crate) fn active(&self) -> impl Iterator<Item = usize> + '_ {
        self.active.iter().copied()
    }

    /// How many nodes are active.
    pub(crate) fn active_count(&self) -> usize {
        self.active.len()
    }

    /// Whether some control-plane node has not finished.
    pub(crate) fn control_plane_unfinished(&self) -> bool {
        self.unfinished_control_planes > 0
    }

    /// Whether every node is in a terminal phase.
    pub(crate) fn all_terminal(&self, nodes: &[NodeState]) -> bool {
        self.terminal == nodes.len()
    }

    /// The first pending node in plan order (amortised constant time: nodes leave Pending
    /// in plan order).
    pub(crate) fn first_pending(&mut self, nodes: &[NodeState]) -> Option<usize> {
        while self.pending_from < nodes.len() && nodes[self.pending_from].phase != Phase::Pending {
            self.pending_from += 1;
        }
        (self.pending_from < nodes.len()).then_some(self.pending_from)
    }
}
