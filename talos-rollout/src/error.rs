//! The crate's error type: what went wrong and what the user can do next.

use std::path::PathBuf;

use rollout_core::PortError;

/// Everything that can go wrong when running a rollout.
///
/// Messages are lower-case, carry no secrets and say what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input or a refused plan (from the pure core); nothing was changed.
    #[error(transparent)]
    Core(#[from] rollout_core::Error),
    /// Another rollout (or writing tool) holds the cluster lock.
    #[error(
        "cluster {cluster} is locked by {holder}; wait for it to finish, or, only if that process is gone, take the lock over explicitly (take_over_stale_lock; --take-over-stale-lock in the tools)"
    )]
    LockHeld {
        /// Cluster the lock protects.
        cluster: String,
        /// Who holds it (owner, host, pid, last heartbeat).
        holder: String,
    },
    /// The cluster-wide Lease is held by another rollout (or stale, or was lost).
    #[error(transparent)]
    Lease(Box<crate::adapters::kube::LeaseError>),
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
    /// The artifacts directory cannot take files (checked before the lock and before any
    /// side effect); nothing was changed.
    #[error(
        "the artifacts directory cannot be written: cannot create files in {path}: {source}; choose a writable --artifacts directory"
    )]
    ArtifactsNotWritable {
        /// The directory (or its nearest existing parent) that refused.
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
    /// A new run was asked for while an unfinished rollout is journaled.
    #[error(
        "an unfinished rollout of cluster {cluster} is journaled in {path}; resume it, or roll it back, before starting a new one"
    )]
    UnfinishedRollout {
        /// Cluster.
        cluster: String,
        /// The journal file.
        path: PathBuf,
    },
    /// Resume (or rollback) was asked for but no unfinished rollout is journaled.
    #[error(
        "there is no unfinished rollout of cluster {cluster} in {path} to resume; check the artifacts directory, or start a new rollout"
    )]
    NothingToResume {
        /// Cluster.
        cluster: String,
        /// The journal file looked for.
        path: PathBuf,
    },
    /// Abandon was asked for but no unfinished or halted rollout is journaled.
    #[error(
        "there is no unfinished or halted rollout of cluster {cluster} in {path} to abandon; check the artifacts directory"
    )]
    NothingToAbandon {
        /// Cluster.
        cluster: String,
        /// The journal file looked for.
        path: PathBuf,
    },
    /// A rollback ended, but the node does not run what it ran originally.
    #[error(
        "node {node} was rolled back but is not back at its original state: {}; inspect it with talosctl and restore it from the originals in {path}",
        differences.join("; ")
    )]
    NotAtOriginal {
        /// Node.
        node: String,
        /// What differs from the original record.
        differences: Vec<String>,
        /// The node's original record.
        path: PathBuf,
    },
    /// A port (Talos, factory, tailnet, Kubernetes) failed.
    #[error(transparent)]
    Port(#[from] PortError),
    /// A key rotation stopped at a node that did not come back with the new key.
    #[error(
        "rotating node {node} failed: {source}; the nodes before it use the new key {new_key_id}, the rest and the old key are unchanged"
    )]
    RotationFailed {
        /// The node.
        node: String,
        /// The new key's ID.
        new_key_id: String,
        /// What went wrong.
        #[source]
        source: Box<PortError>,
    },
    /// The rollout was cancelled between two steps; the journal is consistent.
    #[error("rollout cancelled between steps; resume it to continue from the journal")]
    Cancelled,
    /// A talhelper repository cannot be read or edited safely; nothing in it was changed.
    #[error("the talhelper repository file {path} cannot be used: {reason}")]
    Repository {
        /// The file (or directory) concerned.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
    /// The driver has nothing to do, nothing to wait for, and the rollout is not finished.
    #[error(
        "the rollout stalled in an unexpected state; the journal is consistent, resume it and report this"
    )]
    Stalled,
}

impl Error {
    /// True when retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Port(port) => port.is_retryable(),
            Error::LockHeld { .. } | Error::Io { .. } | Error::Lease(_) => true,
            _ => false,
        }
    }

    /// True when the error is about bad input (spec, profile settings, plan, resume/rollback
    /// requests, a journal that cannot be used) and nothing was changed.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Error::Core(core) => core.is_invalid_input(),
            Error::UnfinishedRollout { .. }
            | Error::NothingToResume { .. }
            | Error::Repository { .. }
            | Error::Journal { .. }
            | Error::NothingToAbandon { .. }
            | Error::ArtifactsNotWritable { .. } => true,
            _ => false,
        }
    }

    /// True when another rollout holds the cluster lock.
    pub fn is_lock_held(&self) -> bool {
        matches!(self, Error::LockHeld { .. } | Error::Lease(_))
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

    pub(crate) fn repository(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Repository {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn spec(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Core(rollout_core::Error::spec(field, reason))
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
