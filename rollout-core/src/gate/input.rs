//! What gates look at: observations of a node and the cluster, plus named-check results.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::CheckResult;
use crate::esc::EscDigest;
use crate::plan::NodePlan;

/// State of an extension service as Talos reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceObservation {
    /// Service is running.
    pub running: bool,
    /// Service health check passes (or the service has none).
    pub healthy: bool,
}

/// A node as seen by the verification checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeObservation {
    /// Talos version tag.
    pub version: String,
    /// Running schematic ID.
    pub schematic_id: Option<String>,
    /// Running extension names (`ExtensionStatuses`).
    pub extensions: Vec<String>,
    /// ExtensionServiceConfig digests in the machine config, by name.
    pub esc_configured: BTreeMap<String, EscDigest>,
    /// ExtensionServiceConfig names Talos reports as applied (`ExtensionServiceConfigStatuses`).
    pub esc_applied: Vec<String>,
    /// Services by id (`ext-tailscale`).
    pub services: BTreeMap<String, ServiceObservation>,
    /// `net.ipv4.ip_forward` is 1 (None: unknown).
    pub ip_forward: Option<bool>,
    /// Machine stage running and ready.
    pub machine_ready: bool,
    /// Kubernetes node Ready (Talos `NodeStatus`; None: unknown).
    pub kubernetes_ready: Option<bool>,
}

/// A node as the Kubernetes API reports it, beside the boot Talos runs (gathered only when
/// the driver has a Kubernetes port).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesObservation {
    /// The node's `Ready` condition is `True`.
    pub ready: bool,
    /// The boot ID the kubelet reports (`status.nodeInfo.bootID`).
    pub boot_id: Option<String>,
    /// The boot ID Talos runs now (None: not read).
    pub talos_boot_id: Option<String>,
    /// Running pods on the node that are not Ready (`namespace/name`).
    pub unready_pods: Vec<String>,
}

/// An etcd member as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdMemberObservation {
    /// Member name.
    pub name: String,
    /// Member answers and has no alarms.
    pub healthy: bool,
}

/// Cluster-wide health, read through a control-plane node that is not being rolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterObservation {
    /// `ClusterService.HealthCheck` result: `Err` holds the failing check's message.
    pub health: Result<(), String>,
    /// Etcd members.
    pub etcd_members: Vec<EtcdMemberObservation>,
}

/// Everything a gate may look at; fields the gate does not need may be `None`.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    /// What the node should look like (the plan).
    pub plan: &'a NodePlan,
    /// The node.
    pub node: Option<&'a NodeObservation>,
    /// The cluster.
    pub cluster: Option<&'a ClusterObservation>,
    /// The node in the Kubernetes API (None: no Kubernetes port).
    pub kubernetes: Option<&'a KubernetesObservation>,
    /// Results of named checks (user gates, profile checks) by name.
    pub named: &'a BTreeMap<String, CheckResult>,
}

/// Which observations a gate needs gathered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The node.
    pub node: bool,
    /// The cluster.
    pub cluster: bool,
    /// The node in the Kubernetes API (gathered only when there is a Kubernetes port).
    pub kubernetes: bool,
    /// Named checks (user gates, profile checks).
    pub named: Vec<String>,
}

impl Needs {
    /// Both needs together.
    pub fn union(mut self, other: Needs) -> Needs {
        self.node |= other.node;
        self.cluster |= other.cluster;
        self.kubernetes |= other.kubernetes;
        for name in other.named {
            if !self.named.contains(&name) {
                self.named.push(name);
            }
        }
        self
    }
}

/// Owned observations a gate is evaluated against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The node (None: not gathered or unreachable).
    pub node: Option<NodeObservation>,
    /// The cluster.
    pub cluster: Option<ClusterObservation>,
    /// The node in the Kubernetes API (None: no Kubernetes port).
    pub kubernetes: Option<KubernetesObservation>,
    /// Named check results by name.
    pub named: BTreeMap<String, CheckResult>,
}

impl Observed {
    /// Borrows the observations as a [`GateInput`] for a node's plan.
    pub fn input<'a>(&'a self, plan: &'a NodePlan) -> GateInput<'a> {
        GateInput {
            plan,
            node: self.node.as_ref(),
            cluster: self.cluster.as_ref(),
            kubernetes: self.kubernetes.as_ref(),
            named: &self.named,
        }
    }
}
