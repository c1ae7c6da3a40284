//! Steps (what an action does, without its arguments) and gate stages.

use serde::{Deserialize, Serialize};

/// When a gate is checked; the driver builds the concrete gate for a (node, stage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStage {
    /// Before touching a node: cluster health (through another control-plane node), etcd, user gates.
    Precheck,
    /// After the reboot: version, schematic, extension, ESC applied, service, ip_forward, node Ready.
    Verify,
    /// The node's tailnet device is online and advertises its routes.
    TailnetDevice,
    /// The node's routes are approved.
    TailnetRoutes,
    /// At the end of the soak time: verify again, plus user soak gates.
    Soak,
    /// After a rollback: the original version and schematic run, machine ready.
    RollbackVerify,
}

/// One kind of step the machine asks the driver to perform on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step", content = "stage")]
pub enum Step {
    /// Read live facts.
    Inspect,
    /// Evaluate a gate.
    CheckGate(GateStage),
    /// Back up the machine config.
    BackupConfig,
    /// Apply the config change (NO_REBOOT).
    ApplyConfig,
    /// Cordon.
    Cordon,
    /// Drain.
    Drain,
    /// Install the new image.
    Install,
    /// Reboot.
    Reboot,
    /// Probe the boot ID and readiness.
    ProbeBoot,
    /// Approve the node's routes through the tailnet API.
    ApproveRoutes,
    /// Uncordon.
    Uncordon,
    /// Apply the backed-up config.
    RestoreConfig,
    /// Boot the previous image.
    BootPrevious,
}

impl Step {
    /// True for steps that change the node (journaled before they run; never repeated once done).
    pub fn is_disruptive(self) -> bool {
        matches!(
            self,
            Step::ApplyConfig
                | Step::Cordon
                | Step::Drain
                | Step::Install
                | Step::Reboot
                | Step::RestoreConfig
                | Step::BootPrevious
        )
    }
}
