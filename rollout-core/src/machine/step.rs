//! Steps: what an action does, without its arguments.

use serde::{Deserialize, Serialize};

use crate::gate::GateStage;

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
    /// A named action of the extension profile (post-verify).
    ExtensionAction,
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
