//! Observations: what the driver reports back after performing an action.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Step;
use crate::PortError;
use crate::esc::EscDigest;
use crate::gate::GateVerdict;

/// Live facts read from a node (Inspect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveNode {
    /// Boot ID, when readable.
    pub boot_id: Option<String>,
    /// Talos version tag.
    pub version: String,
    /// Running schematic ID.
    pub schematic_id: Option<String>,
    /// `machine.install.image`.
    pub install_image: Option<String>,
    /// ExtensionServiceConfig digests by name.
    pub extension_service_configs: BTreeMap<String, EscDigest>,
}

/// Result of probing a node during a reboot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BootProbe {
    /// Not reachable (rebooting); normal during AwaitReboot.
    Down {
        /// What the port said.
        reason: String,
    },
    /// Reachable.
    Up {
        /// Current boot ID.
        boot_id: String,
        /// Machine stage running and ready.
        ready: bool,
    },
}

/// What a node step produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Inspect.
    Inspected(LiveNode),
    /// CheckGate.
    GateChecked(GateVerdict),
    /// ProbeBoot.
    BootProbed(BootProbe),
    /// Any other step succeeded.
    Done {
        /// The step started a reboot by itself (legacy upgrade, Rollback RPC).
        reboot_started: bool,
    },
}

/// What the driver reports after performing an [`super::Action`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "observation")]
pub enum Observation {
    /// Result of `EnsureSchematic`: the factory's ID for the schematic, or why it failed.
    SchematicEnsured {
        /// The ID the plan expected.
        expected_id: String,
        /// The ID the factory returned.
        result: Result<String, PortError>,
    },
    /// Result of a node action.
    Node {
        /// Node.
        node: String,
        /// Which step (must match the action).
        step: Step,
        /// What happened.
        result: Result<Outcome, PortError>,
    },
}
