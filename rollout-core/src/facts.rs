//! What discovery observed about each node before planning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::esc::EscDigest;

/// A node's role in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// Runs etcd and the Kubernetes control plane; rolled strictly one at a time.
    ControlPlane,
    /// Runs workloads; up to `max_unavailable` at a time.
    Worker,
}

/// Facts observed on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFacts {
    /// The node as the Talos API targets it (address or name in the `node` metadata).
    pub node: String,
    /// Kubernetes node name (`Nodenames` resource).
    pub nodename: String,
    /// Control plane or worker.
    pub role: NodeRole,
    /// True when this node is the etcd leader.
    pub etcd_leader: bool,
    /// Running Talos version tag (`v1.10.4`).
    pub version: String,
    /// Running schematic ID (`None` when installed from a plain installer).
    pub schematic_id: Option<String>,
    /// Names of running extensions as `ExtensionStatuses` reports them (without `schematic`).
    pub extensions: Vec<String>,
    /// Official extensions of the running schematic, when the schematic is known.
    pub schematic_extensions: Option<Vec<String>>,
    /// The running schematic's YAML, when known (it keeps kernel args and overlays).
    pub schematic_yaml: Option<String>,
    /// `machine.install.image` from the machine config.
    pub install_image: Option<String>,
    /// Digests of the `ExtensionServiceConfig` documents in the machine config, by name.
    pub extension_service_configs: BTreeMap<String, EscDigest>,
    /// Current boot ID (`None` when not readable).
    pub boot_id: Option<String>,
}

/// Everything observed about the cluster before planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFacts {
    /// Cluster name (used for the lock and journal file names).
    pub cluster: String,
    /// Nodes in discovery order.
    pub nodes: Vec<NodeFacts>,
}

/// The short name of an extension: `siderolabs/i915` → `i915`.
pub(crate) fn short_extension_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}
