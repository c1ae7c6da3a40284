//! What a node should run once the rollout is done: the part of the plan (and of the node's
//! config) that the repository has to state.

use rollout_core::plan::NodeConfigs;
use rollout_core::{ExtensionServiceConfig, Plan};

/// One node's target state, as the repository should declare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTarget {
    /// The node as the Talos API targets it (an address or a hostname).
    pub node: String,
    /// Its Kubernetes node name.
    pub nodename: String,
    /// Talos version tag (`v1.10.4`).
    pub version: String,
    /// The target schematic ID.
    pub schematic_id: Option<String>,
    /// The target installer reference.
    pub install_image: Option<String>,
    /// Official extensions of the target schematic.
    pub extensions: Vec<String>,
    /// The node's `ExtensionServiceConfig`, secrets included (they are written as env
    /// references unless inline secrets are asked for).
    pub esc: Option<ExtensionServiceConfig>,
}

impl NodeTarget {
    /// The targets of every node of `plan` whose name `keep` accepts, with their configs.
    pub fn from_plan(
        plan: &Plan,
        configs: &NodeConfigs,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<NodeTarget> {
        plan.nodes
            .iter()
            .filter(|node| keep(&node.node))
            .map(|node| NodeTarget {
                node: node.node.clone(),
                nodename: node.nodename.clone(),
                version: node.to.version.clone(),
                schematic_id: node.to.schematic_id.clone(),
                install_image: node.to.install_image.clone(),
                extensions: node.to.extensions.clone(),
                esc: configs.get(&node.node).cloned(),
            })
            .collect()
    }
}
