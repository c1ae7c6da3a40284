//! The Talos port: what the driver needs from a Talos node.

use async_trait::async_trait;
use futures::stream::BoxStream;
use secrecy::SecretSlice;

use rollout_core::PortError;
use rollout_core::esc::ExtensionServiceConfig;
use rollout_core::facts::NodeFacts;
use rollout_core::gate::{ClusterObservation, NodeObservation};
use rollout_core::machine::{BootProbe, LiveNode};

/// A config change applied with mode NO_REBOOT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    /// New `machine.install.image` (None: unchanged).
    pub install_image: Option<String>,
    /// ExtensionServiceConfig document replacing the one with the same name (None: unchanged).
    pub extension_service_config: Option<ExtensionServiceConfig>,
}

/// Which nodes a cluster health check covers.
///
/// Both lists empty: every node the checked control-plane node discovers. A worker's
/// precheck names the planned nodes except the workers the rollout has in flight (the
/// machine's `expected_down`), so a free slot is not held up by the rollout's own reboots
/// while any other planned node still has to be healthy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthScope {
    /// Control-plane nodes to check.
    pub control_plane: Vec<String>,
    /// Worker nodes to check.
    pub workers: Vec<String>,
}

/// Result of an install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallOutcome {
    /// The node accepted an install that reboots it by itself (legacy upgrade path); the
    /// machine then waits for the new boot. False: installed, nothing rebooted (lifecycle).
    pub reboot_started: bool,
}

/// What a node's change feed ([`TalosPort::changes`]) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeChange {
    /// The node announced a change (an event: machine stage, service state, a sequence, …).
    Changed,
    /// The feed is connected (again); changes may have been missed while it was not.
    Connected,
    /// The feed lost its stream (a reboot ends every stream); it reconnects by itself.
    Lost,
}

/// Operations on Talos nodes. Adapters map client errors to [`PortError`] kinds
/// (`Unavailable` for a node that is down, `Unsupported` for a missing RPC).
#[async_trait]
pub trait TalosPort: Send + Sync {
    /// Everything planning needs about a node.
    async fn node_facts(&self, node: &str) -> Result<NodeFacts, PortError>;

    /// Boot ID, version, schematic, install image and ESC digests.
    async fn inspect(&self, node: &str) -> Result<LiveNode, PortError>;

    /// What the verification checks look at.
    async fn observe(&self, node: &str) -> Result<NodeObservation, PortError>;

    /// Cluster health of the nodes in `scope` and etcd members, read through `via` (a
    /// control-plane node).
    async fn cluster_health(
        &self,
        via: &str,
        scope: &HealthScope,
    ) -> Result<ClusterObservation, PortError>;

    /// The machine config, exact bytes.
    async fn read_machine_config(&self, node: &str) -> Result<SecretSlice<u8>, PortError>;

    /// Edits the machine config (replace the ESC document, set the install image) and applies
    /// it with NO_REBOOT.
    async fn apply_config_change(&self, node: &str, change: &ConfigChange)
    -> Result<(), PortError>;

    /// Applies a whole machine config (exact bytes) with NO_REBOOT.
    async fn apply_machine_config(
        &self,
        node: &str,
        config: &SecretSlice<u8>,
    ) -> Result<(), PortError>;

    /// Installs an image (lifecycle upgrade on Talos ≥ 1.13, else legacy upgrade) and returns
    /// without waiting for any reboot: waiting is the machine's job (AwaitReboot).
    async fn install(&self, node: &str, image: &str) -> Result<InstallOutcome, PortError>;

    /// Requests a reboot.
    async fn reboot(&self, node: &str) -> Result<(), PortError>;

    /// The Talos `Rollback` RPC: boot the previous boot entry (reboots the node).
    async fn rollback(&self, node: &str) -> Result<(), PortError>;

    /// Boot ID and readiness; a node that is down may answer `Down` or `Unavailable`.
    async fn probe_boot(&self, node: &str) -> Result<BootProbe, PortError>;

    /// The node's change feed: every change the node announces, reconnecting by itself
    /// after a loss; it ends only on a failure reconnecting cannot cure. `None` (the
    /// default): the port has no feed and the machine polls every check interval.
    fn changes(&self, node: &str) -> Option<BoxStream<'static, NodeChange>> {
        let _ = node;
        None
    }

    /// The last `lines` lines of a service's log.
    async fn service_log_tail(
        &self,
        node: &str,
        service: &str,
        lines: usize,
    ) -> Result<Vec<String>, PortError>;
}
