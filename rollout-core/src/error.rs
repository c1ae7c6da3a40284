//! The crate's error type: what went wrong and what the user can do next.

use std::path::PathBuf;

use crate::ports::PortError;

/// Everything that can go wrong in rollout-core.
///
/// Messages are lower-case, carry no secrets and say what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The rollout spec is invalid; nothing was changed.
    #[error("invalid rollout spec: {field}: {reason}")]
    InvalidSpec {
        /// The offending field (dotted path).
        field: String,
        /// Why it is invalid and how to fix it.
        reason: String,
    },
    /// The Tailscale extension service configuration is invalid; nothing was changed.
    #[error("invalid tailscale configuration: {reason}")]
    InvalidTailscaleConfig {
        /// Why it is invalid and how to fix it.
        reason: String,
    },
    /// The planner refused the rollout for a node.
    #[error("plan refused for node {node}: {reason}")]
    PlanRefused {
        /// Node the refusal is about.
        node: String,
        /// Why, and what to change.
        reason: String,
    },
    /// The schematic resolver could not produce a target schematic.
    #[error("cannot resolve the target schematic: {reason}")]
    SchematicResolution {
        /// Why, and what to change.
        reason: String,
    },
    /// Another rollout holds the cluster lock.
    #[error(
        "cluster {cluster} is locked by {holder}; wait for that rollout to finish, or take the lock over explicitly if it is stale"
    )]
    LockHeld {
        /// Cluster the lock protects.
        cluster: String,
        /// Who holds it (owner, host, pid, last heartbeat).
        holder: String,
    },
    /// A file in the artifacts directory could not be read or written.
    #[error(
        "cannot {action} {path}: {source}; check that the artifacts directory exists and is writable"
    )]
    Io {
        /// What was being done ("append to", "read", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The journal is unreadable or does not belong to this rollout.
    #[error("journal {path} cannot be used: {reason}")]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
    /// A port (Talos, factory, tailnet, Kubernetes) failed.
    #[error("{0}")]
    Port(#[from] PortError),
    /// The rollout was cancelled between two steps; the journal is consistent.
    #[error("rollout cancelled between steps; run it again to resume from the journal")]
    Cancelled,
    /// A rollback was asked for a node the rollout never changed (or already rolled back).
    #[error("nothing to roll back on node {node}: {reason}")]
    NothingToRollBack {
        /// Node.
        node: String,
        /// Why.
        reason: String,
    },
    /// The driver has nothing to do, nothing to wait for, and the rollout is not finished.
    #[error(
        "the rollout stalled in an unexpected state; the journal is consistent, run it again to resume and report this"
    )]
    Stalled,
    /// A node named on input is not part of the plan.
    #[error("node {node} is not part of the plan; check the node name against `plan()` output")]
    UnknownNode {
        /// The name that was given.
        node: String,
    },
}

impl Error {
    /// True when retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Port(port) => port.is_retryable(),
            Error::LockHeld { .. } | Error::Io { .. } => true,
            _ => false,
        }
    }

    /// True when the error is about bad input (spec, tailscale config, plan) and nothing was changed.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidSpec { .. }
                | Error::InvalidTailscaleConfig { .. }
                | Error::PlanRefused { .. }
                | Error::SchematicResolution { .. }
                | Error::UnknownNode { .. }
                | Error::NothingToRollBack { .. }
        )
    }

    /// True when another rollout holds the cluster lock.
    pub fn is_lock_held(&self) -> bool {
        matches!(self, Error::LockHeld { .. })
    }

    pub(crate) fn spec(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidSpec {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn tailscale(reason: impl Into<String>) -> Self {
        Error::InvalidTailscaleConfig {
            reason: reason.into(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Result alias for rollout-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
