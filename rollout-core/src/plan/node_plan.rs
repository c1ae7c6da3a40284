//! The plan for one node: from what to what, and whether it needs anything at all.

use serde::{Deserialize, Serialize};

use crate::extension::ExtensionPlan;
use crate::facts::NodeRole;

/// What a node runs (before) or will run (after).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeImage {
    /// Talos version tag.
    pub version: String,
    /// Schematic ID, if any.
    pub schematic_id: Option<String>,
    /// Installer image reference (`machine.install.image`).
    pub install_image: Option<String>,
    /// Official extensions.
    pub extensions: Vec<String>,
}

/// What the rollout will do to a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeAction {
    /// Apply config, install the new image and reboot.
    Upgrade,
    /// Image already right; only the config changes (no reboot).
    ConfigOnly,
    /// Nothing to do.
    Skip {
        /// Why.
        reason: String,
    },
}

/// The plan for one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePlan {
    /// Talos node target.
    pub node: String,
    /// Kubernetes node name.
    pub nodename: String,
    /// Control plane or worker.
    pub role: NodeRole,
    /// Etcd leader at planning time.
    pub etcd_leader: bool,
    /// What it runs now.
    pub from: NodeImage,
    /// What it will run.
    pub to: NodeImage,
    /// What the extension profile adds: config, checks, post-verify steps.
    pub extension: ExtensionPlan,
    /// What happens.
    pub action: NodeAction,
}

impl NodePlan {
    /// True when the node reboots.
    pub fn reboots(&self) -> bool {
        self.action == NodeAction::Upgrade
    }

    /// True when the rollout cordons and drains the node itself (before its reboot, then
    /// uncordons it after verification), given whether draining is on (`drain`): only on
    /// the lifecycle path (Talos ≥ 1.13). The legacy upgrade drains on the node, so draining
    /// it here too would drain it twice.
    pub fn drained(&self, drain: bool) -> bool {
        drain && self.reboots() && talos_client::version::supports_lifecycle_api(&self.from.version)
    }

    /// True when nothing will be done to the node.
    pub fn is_skipped(&self) -> bool {
        matches!(self.action, NodeAction::Skip { .. })
    }
}
