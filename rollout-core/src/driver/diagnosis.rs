//! Failure diagnosis: which gate failed, what was last observed, and recognised causes.

use serde::{Deserialize, Serialize};

use crate::machine::NodeFailure;

/// A cause recognised from the node's `ext-tailscale` log or observations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecognisedCause {
    /// The auth key is invalid, expired or revoked.
    InvalidOrExpiredAuthKey,
    /// The requested tags are not permitted for the key or client.
    TagsNotPermitted,
    /// Routes are advertised but not approved.
    RoutesNotApproved,
    /// IPv4 forwarding is off.
    IpForwardOff,
}

/// Everything known about why a node failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Node.
    pub node: String,
    /// The failure as the machine saw it.
    pub failure: NodeFailure,
    /// Last lines of the `ext-tailscale` log (secrets redacted).
    pub tailscale_log_tail: Vec<String>,
    /// Causes recognised, each with what to do.
    pub causes: Vec<RecognisedCause>,
}
