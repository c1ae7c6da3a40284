//! Failure diagnosis: which gate failed, what was last observed, the extension service's
//! log tail (secrets redacted), and the causes the profile recognises in them.

use serde::{Deserialize, Serialize};

use rollout_core::machine::NodeFailure;

use crate::profile::RecognisedCause;

/// Everything known about why a node failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Node.
    pub node: String,
    /// The failure as the machine saw it (phase, reason, last gate verdict, port error).
    pub failure: NodeFailure,
    /// The extension service (`ext-tailscale`) whose log was read, if the node has one.
    pub service: Option<String>,
    /// Last lines of that service's log, secrets redacted.
    pub log_tail: Vec<String>,
    /// Causes recognised, each explaining what to do.
    pub causes: Vec<RecognisedCause>,
}
