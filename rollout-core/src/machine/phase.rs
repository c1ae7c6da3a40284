//! Per-node phases, in the order a node goes through them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Steps of rolling a failed node back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackStep {
    /// Read the node's live state to decide what to undo.
    Inspect,
    /// Apply the backed-up machine config (exact bytes).
    RestoreConfig,
    /// Boot the previous image (Rollback RPC or reinstall of the original installer).
    BootPrevious,
    /// Reboot after a reinstall.
    Reboot,
    /// Wait for the new boot ID, machine running and ready.
    AwaitReboot,
    /// Check that the original version and schematic run again.
    Verify,
}

/// Where a node is in the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "phase", content = "step")]
pub enum Phase {
    /// Not started.
    Pending,
    /// Live state read, precheck gates (cluster health, etcd) evaluated.
    Precheck,
    /// Machine config backed up (exact bytes, 0600).
    Backup,
    /// ExtensionServiceConfig replaced and install image set, NO_REBOOT.
    ApplyConfig,
    /// Node cordoned (only with a Kubernetes port, on the lifecycle path: after the install,
    /// before the reboot, as talosctl ≥ 1.13 does; the legacy upgrade drains on the node).
    Cordon,
    /// Node drained (as Cordon); a failed drain uncordons the node and halts, unrebooted.
    Drain,
    /// New installer written (lifecycle or legacy upgrade).
    Install,
    /// Reboot requested.
    Reboot,
    /// Waiting for a new boot ID with the machine running and ready.
    AwaitReboot,
    /// Version, schematic, extension, ESC, service, ip_forward, node Ready.
    Verify,
    /// The extension profile's post-verify steps (for Tailscale: device online, routes
    /// advertised and approved).
    PostVerify,
    /// Node uncordoned (only if the rollout cordoned it).
    Uncordon,
    /// Staying healthy for the soak time.
    Soak,
    /// Converged and verified.
    Done,
    /// Stopped after it failed.
    Halted,
    /// Never started: the rollout halted (or failed to start) before reaching it; the node
    /// is untouched.
    NotStarted,
    /// Being rolled back.
    Rollback(RollbackStep),
    /// Rolled back to its original config and image.
    RolledBack,
}

impl Phase {
    /// True for Done, Halted, NotStarted and RolledBack.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Done | Phase::Halted | Phase::NotStarted | Phase::RolledBack
        )
    }

    /// True while the node occupies a rollout slot (started, not finished).
    pub fn is_active(self) -> bool {
        !self.is_terminal() && self != Phase::Pending
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Rollback(step) => write!(f, "rollback/{step:?}"),
            other => write!(f, "{other:?}"),
        }
    }
}
