//! Typed progress events for CLIs (progress bars) and controllers (JSON logs).

use serde::{Deserialize, Serialize};

use super::Phase;
use crate::PortError;
use crate::gate::{GateStage, GateVerdict};

/// Why a node failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFailure {
    /// Phase it failed in.
    pub phase: Phase,
    /// What went wrong, lower-case.
    pub reason: String,
    /// The last gate verdict seen in that phase, if any.
    pub last_verdict: Option<GateVerdict>,
    /// The port error, if a port call failed.
    pub port_error: Option<PortError>,
}

/// End-of-rollout summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Final phase per node, in plan order.
    pub nodes: Vec<(String, Phase)>,
    /// The node whose failure halted the rollout, if any.
    pub halted_by: Option<String>,
}

impl Summary {
    /// True when every node is Done.
    pub fn succeeded(&self) -> bool {
        self.nodes.iter().all(|(_, phase)| *phase == Phase::Done)
    }
}

/// A progress event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
#[non_exhaustive]
pub enum RolloutEvent {
    /// A node moved to another phase.
    PhaseChanged {
        /// Node.
        node: String,
        /// Previous phase.
        from: Phase,
        /// New phase.
        to: Phase,
    },
    /// A gate was evaluated.
    GateProgress {
        /// Node.
        node: String,
        /// Stage.
        stage: GateStage,
        /// Attempt number in this phase (1-based).
        attempt: u32,
        /// Result.
        verdict: GateVerdict,
    },
    /// Something worth knowing that does not stop the rollout.
    Warning {
        /// Node concerned, if any.
        node: Option<String>,
        /// Explanation.
        message: String,
    },
    /// A node failed.
    NodeFailed {
        /// Node.
        node: String,
        /// Why.
        failure: NodeFailure,
    },
    /// Every node is terminal.
    Finished(Summary),
}
