//! [`Event`]: what a rollout reports while it runs — the state machine's own
//! [`RolloutEvent`]s, wrapped, plus what the front door and the driver add (discovery, the
//! credential, patches, the plan, diagnoses).

use std::path::PathBuf;

use rollout_core::machine::Phase;
use rollout_core::{ClusterFacts, Plan, RolloutEvent};
use serde::Serialize;

use crate::diagnosis::Diagnosis;
use crate::ports::DrainReport;

/// A progress event; serialized as one JSON object with an `event` field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Event {
    /// From the state machine (phase changes, gate progress, failures, the summary).
    Rollout(RolloutEvent),
    /// From the front door and the driver.
    Run(RunEvent),
}

/// What the front door and the driver report besides the state machine's events.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
#[non_exhaustive]
pub enum RunEvent {
    /// What each node runs today.
    Discovered {
        /// The facts.
        facts: Box<ClusterFacts>,
    },
    /// The profile created a credential for this run (e.g. a Tailscale auth key).
    CredentialProvisioned {
        /// Profile.
        profile: String,
        /// The credential's public ID.
        id: String,
    },
    /// A credential this run created was withdrawn because the run never started.
    CredentialWithdrawn {
        /// The credential's public ID.
        id: String,
    },
    /// A node's config was written as a 0600 patch.
    PatchWritten {
        /// Node.
        node: String,
        /// File.
        path: PathBuf,
        /// The config's environment, secrets redacted.
        environment: Vec<String>,
    },
    /// A target schematic was recorded in the artifacts.
    SchematicRecorded {
        /// Schematic ID.
        id: String,
        /// Its official extensions.
        extensions: Vec<String>,
        /// File.
        path: PathBuf,
    },
    /// Every node already runs what the plan asks for: nothing was created, written or changed.
    NothingToDo {
        /// The plan, every node skipped.
        plan: Box<Plan>,
    },
    /// A node's original state was recorded (the first time the project saw it).
    OriginalRecorded {
        /// Node.
        node: String,
        /// The record's directory.
        path: PathBuf,
    },
    /// The plan about to be executed (or resumed).
    Plan(Box<Plan>),
    /// A resumed rollout: where each node stands, as the journal and the live nodes say,
    /// before the rollout goes on (nodes already `Done` emit no phase change again).
    Resumed {
        /// Each node with its phase.
        phases: Vec<(String, Phase)>,
    },
    /// Why a node failed (after the machine's `node_failed`).
    Diagnosis(Box<Diagnosis>),
    /// A node was drained (cordon and drain run only with a Kubernetes port).
    Drained {
        /// Node.
        node: String,
        /// What the drain evicted and skipped, and how long it took.
        report: DrainReport,
    },
    /// Something worth knowing that is not a failure.
    Note {
        /// Explanation.
        message: String,
    },
}

impl From<RolloutEvent> for Event {
    fn from(event: RolloutEvent) -> Self {
        Event::Rollout(event)
    }
}

impl From<RunEvent> for Event {
    fn from(event: RunEvent) -> Self {
        Event::Run(event)
    }
}
