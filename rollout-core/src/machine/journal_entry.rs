//! Journal entries: the durable facts a resumed rollout rebuilds its state from.

use serde::{Deserialize, Serialize};

use super::{NodeFailure, Phase, Step, Summary};
use crate::plan::{NodeImage, Plan};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "entry")]
#[non_exhaustive]
pub enum JournalEntry {
    /// The rollout started with this plan (first line).
    Started {
        /// The plan (no secrets).
        plan: Box<Plan>,
    },
    /// A node entered a phase.
    PhaseEntered {
        /// Node.
        node: String,
        /// Phase.
        phase: Phase,
    },
    /// The node's boot ID before a reboot the rollout causes.
    BootRecorded {
        /// Node.
        node: String,
        /// Boot ID.
        boot_id: String,
        /// True for the boot before a rollback reboot.
        rollback: bool,
    },
    /// A disruptive step is about to run (written before it runs).
    StepStarted {
        /// Node.
        node: String,
        /// Step.
        step: Step,
    },
    /// A step completed.
    StepCompleted {
        /// Node.
        node: String,
        /// Step.
        step: Step,
    },
    /// A node failed.
    NodeFailed {
        /// Node.
        node: String,
        /// Why.
        failure: Box<NodeFailure>,
    },
    /// A rollback of the node back to what it ran before the project first touched it
    /// (its originals) was asked for; written before the rollback begins.
    RollbackToOriginal {
        /// Node.
        node: String,
        /// The original image.
        original: NodeImage,
    },
    /// The node's Rollback RPC got no answer and the node showed it never acted on it
    /// (running and ready on the same boot): its rollback re-installs the target image
    /// instead, which ends at that image whichever boot entry is the default now.
    RollbackRpcReplaced {
        /// Node.
        node: String,
    },
    /// The rollout finished.
    Finished {
        /// Summary.
        summary: Summary,
    },
}
