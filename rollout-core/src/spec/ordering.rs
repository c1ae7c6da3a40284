//! Ordering and concurrency of the rollout.

use serde::{Deserialize, Serialize};

/// How nodes are ordered and how many may be disrupted at once.
///
/// Control-plane nodes always go strictly one at a time, before any worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ordering {
    /// How many worker nodes may be in progress at once (≥ 1).
    pub max_unavailable: usize,
    /// Roll the etcd leader last among the control-plane nodes.
    pub etcd_leader_last: bool,
    /// Optional explicit order of node names; unnamed nodes follow in discovery order.
    pub order: Vec<String>,
}

impl Default for Ordering {
    fn default() -> Self {
        Ordering {
            max_unavailable: 1,
            etcd_leader_last: true,
            order: Vec::new(),
        }
    }
}
