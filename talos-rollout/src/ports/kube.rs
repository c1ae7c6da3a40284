//! The Kubernetes port (optional): cordon, drain, uncordon.

use async_trait::async_trait;

use rollout_core::PortError;

/// Kubernetes node operations; the Cordon/Drain/Uncordon phases run only when one is given.
#[async_trait]
pub trait KubePort: Send + Sync {
    /// Marks the node unschedulable.
    async fn cordon(&self, nodename: &str) -> Result<(), PortError>;
    /// Evicts the node's pods.
    async fn drain(&self, nodename: &str) -> Result<(), PortError>;
    /// Marks the node schedulable again.
    async fn uncordon(&self, nodename: &str) -> Result<(), PortError>;
}
