//! The Kubernetes port (optional): cordon, drain, readiness, uncordon.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use rollout_core::PortError;

/// What [`KubePort::cordon`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cordon {
    /// The node was schedulable and is now cordoned and recorded as cordoned by this rollout
    /// (or this rollout had cordoned it before).
    Ours,
    /// The node was already cordoned by someone else; it stays cordoned afterwards.
    SomeoneElses,
}

/// What [`KubePort::uncordon`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Uncordon {
    /// This rollout had cordoned the node; it is schedulable again.
    Uncordoned,
    /// The node is cordoned by someone else (or not cordoned): it was left as it is.
    LeftAsIs,
}

/// A pod the drain did not evict, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedPod {
    /// `namespace/name`.
    pub pod: String,
    /// Why (`DaemonSet`, mirror pod, the orchestrator's own pod, …).
    pub reason: String,
}

/// A pod that kept the drain from finishing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockingPod {
    /// `namespace/name`.
    pub pod: String,
    /// Why it was not evicted (a refusal of the filters, the budget's message, still terminating).
    pub reason: String,
    /// The PodDisruptionBudget that refused the eviction, if one did.
    pub pdb: Option<String>,
}

/// The outcome of a drain: evicted, skipped and (on failure) blocking pods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainReport {
    /// Pods evicted (`namespace/name`), in the order their evictions were accepted.
    pub evicted: Vec<String>,
    /// Pods left on the node on purpose.
    pub skipped: Vec<SkippedPod>,
    /// Pods that kept the drain from finishing (empty when it finished).
    pub blocking: Vec<BlockingPod>,
    /// How long the drain took (in JSON: `elapsed_seconds`, a float).
    #[serde(rename = "elapsed_seconds", with = "fractional_seconds")]
    pub elapsed: Duration,
}

/// Serde helper: a `Duration` as fractional seconds, to the millisecond.
mod fractional_seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64((value.as_secs_f64() * 1000.0).round() / 1000.0)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}

/// The Kubernetes view of a node's readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReadiness {
    /// The node's `Ready` condition is `True`.
    pub ready: bool,
    /// `status.nodeInfo.bootID` (a Ready from before a reboot carries the old one).
    pub boot_id: Option<String>,
    /// Running pods on the node whose `Ready` condition is not `True` (`namespace/name`).
    pub unready_pods: Vec<String>,
}

/// Kubernetes node operations; the Cordon/Drain/Uncordon phases run only when one is given.
#[async_trait]
pub trait KubePort: Send + Sync {
    /// Marks the node unschedulable and records the cordon as this rollout's, unless
    /// someone else had cordoned it already.
    async fn cordon(&self, nodename: &str) -> Result<Cordon, PortError>;
    /// Evicts the node's pods through the Eviction API, within the drain timeout.
    ///
    /// # Errors
    ///
    /// A failure whose message names the pods and budgets that block the drain.
    async fn drain(&self, nodename: &str) -> Result<DrainReport, PortError>;
    /// Reads the node's readiness.
    async fn readiness(&self, nodename: &str) -> Result<NodeReadiness, PortError>;
    /// Marks the node schedulable again, only if this rollout cordoned it.
    async fn uncordon(&self, nodename: &str) -> Result<Uncordon, PortError>;
}
