//! What the upgrade and reboot helpers report while they work, and their result.

use crate::machine::{MachineEvent, PullProgress};

/// Which upgrade API is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradePath {
    /// `ImageService.Pull` + `LifecycleService.Upgrade` + `Reboot` (Talos 1.13+).
    Lifecycle,
    /// The legacy `MachineService.Upgrade`.
    Legacy,
}

/// One step of an upgrade or reboot, for display.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// The upgrade path chosen (reported again as `Legacy` after a fallback).
    Path(UpgradePath),
    /// Image pull progress.
    Pull(PullProgress),
    /// A line of installer output.
    Installer(String),
    /// The action was accepted; its actor id when the node returned one.
    ActionAccepted {
        /// Actor id tagging the action's events.
        actor_id: Option<String>,
    },
    /// An event from the node.
    Event(MachineEvent),
    /// The node is unreachable; the helper reconnects.
    Disconnected {
        /// Why the connection ended.
        reason: String,
    },
    /// The node reports running and ready, but still with the old boot ID; waiting on.
    StillOldBoot,
}

/// The result of a successful wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOutcome {
    /// Boot ID before the action (`None` when the certificate may not read it).
    pub boot_id_before: Option<String>,
    /// Boot ID after the node came back (`None` as above, or when no reboot happened).
    pub boot_id_after: Option<String>,
    /// Whether the node rebooted.
    pub rebooted: bool,
}

impl WaitOutcome {
    pub(crate) fn not_rebooted() -> Self {
        Self {
            boot_id_before: None,
            boot_id_after: None,
            rebooted: false,
        }
    }
}
