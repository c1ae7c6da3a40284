//! The error every port returns: a kind the state machine can reason about, and a message.

use serde::{Deserialize, Serialize};

/// Broad class of a port failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PortErrorKind {
    /// The peer is not reachable right now (a rebooting node, a 5xx); retry later.
    Unavailable,
    /// The thing asked for does not exist.
    NotFound,
    /// The credentials lack a permission.
    PermissionDenied,
    /// The peer refused the request as invalid.
    Rejected,
    /// The operation is not supported by this peer (e.g. an old Talos).
    Unsupported,
    /// Anything else.
    Other,
}

/// A failure reported by a port adapter (no transport types, no secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{port} {operation} failed: {message}")]
pub struct PortError {
    /// Which port (`talos`, `factory`, `tailnet`, `kube`).
    pub port: String,
    /// What was being done (`apply config`, ...).
    pub operation: String,
    /// Class of failure.
    pub kind: PortErrorKind,
    /// What happened and what to do, lower-case.
    pub message: String,
}

impl PortError {
    /// Builds a port error.
    pub fn new(
        port: &str,
        operation: &str,
        kind: PortErrorKind,
        message: impl Into<String>,
    ) -> Self {
        PortError {
            port: port.to_owned(),
            operation: operation.to_owned(),
            kind,
            message: message.into(),
        }
    }

    /// True when retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == PortErrorKind::Unavailable
    }

    /// True when the peer does not support the operation.
    pub fn is_unsupported(&self) -> bool {
        self.kind == PortErrorKind::Unsupported
    }
}
