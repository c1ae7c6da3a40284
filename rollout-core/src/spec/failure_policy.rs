//! What to do when a node fails.

use serde::{Deserialize, Serialize};

/// What happens to a node that fails after it was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Stop: leave the failed node as it is for a human, start no other node.
    #[default]
    Halt,
    /// Restore the node's backed-up config and previous image, verify, then stop.
    Rollback,
}
