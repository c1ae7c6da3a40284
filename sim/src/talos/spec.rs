//! The shape of a simulated node: hostname, address, role, Talos version and extensions.

use std::net::IpAddr;

/// Whether a node runs the control plane (etcd, API server) or only workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRole {
    /// A control-plane node (etcd member, answers `HealthCheck`, `Kubeconfig`).
    ControlPlane,
    /// A worker node.
    Worker,
}

impl NodeRole {
    /// The machine type in the configuration (`controlplane` / `worker`).
    pub fn machine_type(self) -> &'static str {
        match self {
            Self::ControlPlane => "controlplane",
            Self::Worker => "worker",
        }
    }
}

/// One node of the simulated cluster as it is before anything is rolled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// Hostname (also the Kubernetes node name), e.g. `k8s-1`.
    pub hostname: String,
    /// The node's address; `node` metadata may name the node by it or by hostname.
    pub address: IpAddr,
    /// Control plane or worker.
    pub role: NodeRole,
    /// The installed Talos version, e.g. `v1.10.4`.
    pub talos_version: String,
    /// Official extensions of the installed schematic, e.g. `siderolabs/i915`.
    pub extensions: Vec<String>,
}

impl NodeSpec {
    /// A node with the seed cluster's version and extensions.
    pub fn new(hostname: impl Into<String>, address: IpAddr, role: NodeRole) -> Self {
        Self {
            hostname: hostname.into(),
            address,
            role,
            talos_version: crate::DEFAULT_TALOS_VERSION.to_owned(),
            extensions: crate::DEFAULT_EXTENSIONS
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
        }
    }

    /// Sets the installed Talos version.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.talos_version = version.into();
        self
    }

    /// Sets the installed official extensions.
    pub fn with_extensions<I, S>(mut self, extensions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extensions = extensions.into_iter().map(Into::into).collect();
        self
    }

    /// Whether this is a control-plane node.
    pub fn is_control_plane(&self) -> bool {
        self.role == NodeRole::ControlPlane
    }
}
