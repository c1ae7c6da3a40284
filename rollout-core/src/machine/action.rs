//! Actions: what the state machine asks the driver to do next.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Step;
use crate::gate::GateStage;
use crate::plan::ResolvedSchematic;

/// How a node gets its previous image back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum RollbackMethod {
    /// The Talos `Rollback` RPC: the previous boot entry is the original image (it reboots itself).
    RollbackRpc,
    /// Upgrade to the original installer reference, then reboot.
    Reinstall {
        /// Original installer image.
        image: String,
    },
}

/// What to do on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "request")]
pub enum NodeRequest {
    /// Read live facts ([`super::LiveNode`]).
    Inspect,
    /// Evaluate the gate for a stage ([`super::GateVerdict`]).
    CheckGate {
        /// Which gate.
        stage: GateStage,
        /// Other nodes of this rollout that are down or may go down at any moment within
        /// its concurrency budget (prechecks of workers only; empty otherwise): the cluster
        /// health check leaves them out, every other node must be healthy.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        expected_down: Vec<String>,
    },
    /// Read the machine config and store it (exact bytes, 0600).
    BackupConfig,
    /// Replace the ExtensionServiceConfig document and set the install image, NO_REBOOT.
    ApplyConfig {
        /// New `machine.install.image` (None: unchanged).
        install_image: Option<String>,
        /// Name of the ExtensionServiceConfig from the spec to put in place (None: unchanged).
        esc_name: Option<String>,
    },
    /// Cordon the Kubernetes node.
    Cordon,
    /// Drain the Kubernetes node.
    Drain,
    /// Install an image (lifecycle or legacy upgrade, chosen by the adapter).
    Install {
        /// Installer image reference.
        image: String,
    },
    /// Reboot.
    Reboot,
    /// Read boot ID and machine readiness; "down" is a normal answer.
    ProbeBoot,
    /// Carry out a named action of the extension profile (a post-verify step).
    ExtensionAction {
        /// Action name ([`crate::extension::PostVerifyStep::Act`]).
        action: String,
    },
    /// Uncordon the Kubernetes node.
    Uncordon,
    /// Apply the backed-up machine config.
    RestoreConfig,
    /// Boot the previous image.
    BootPrevious {
        /// How.
        method: RollbackMethod,
    },
}

impl NodeRequest {
    /// The argument-free kind of this request.
    pub fn step(&self) -> Step {
        match self {
            NodeRequest::Inspect => Step::Inspect,
            NodeRequest::CheckGate { stage, .. } => Step::CheckGate(*stage),
            NodeRequest::BackupConfig => Step::BackupConfig,
            NodeRequest::ApplyConfig { .. } => Step::ApplyConfig,
            NodeRequest::Cordon => Step::Cordon,
            NodeRequest::Drain => Step::Drain,
            NodeRequest::Install { .. } => Step::Install,
            NodeRequest::Reboot => Step::Reboot,
            NodeRequest::ProbeBoot => Step::ProbeBoot,
            NodeRequest::ExtensionAction { .. } => Step::ExtensionAction,
            NodeRequest::Uncordon => Step::Uncordon,
            NodeRequest::RestoreConfig => Step::RestoreConfig,
            NodeRequest::BootPrevious { .. } => Step::BootPrevious,
        }
    }
}

/// The next thing the driver must do, then report with [`super::Observation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// Register a target schematic with the Image Factory (before any node is touched).
    EnsureSchematic {
        /// The schematic.
        schematic: ResolvedSchematic,
        /// Time limit for the call.
        timeout: Duration,
    },
    /// Do something on one node.
    Node {
        /// Node.
        node: String,
        /// What.
        request: NodeRequest,
        /// Time limit for the call; the driver reports a timeout as an `Unavailable` failure.
        timeout: Duration,
    },
}

impl Action {
    /// The node the action is about, if any.
    pub fn node(&self) -> Option<&str> {
        match self {
            Action::Node { node, .. } => Some(node),
            Action::EnsureSchematic { .. } => None,
        }
    }

    /// The time limit for performing it.
    pub fn timeout(&self) -> Duration {
        match self {
            Action::EnsureSchematic { timeout, .. } | Action::Node { timeout, .. } => *timeout,
        }
    }
}
