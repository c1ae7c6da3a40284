//! The error every port returns: a kind the state machine can reason about, a message, and
//! (in process, never serialized) the underlying error.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

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
    /// The peer is already busy with an earlier request of the same kind (a Talos node
    /// that runs an upgrade or reboot sequence): that request is in progress, so the caller
    /// waits for its effect instead of counting this as a failure.
    Busy,
    /// Anything else.
    Other,
}

/// A failure reported by a port adapter (no transport types, no secrets).
///
/// The message is what gets journaled and shown; [`std::error::Error::source`] keeps the
/// adapter's own error for callers in the same process (it is not serialized and not
/// compared).
#[derive(Clone, Serialize, Deserialize)]
pub struct PortError {
    /// Which port (`talos`, `factory`, `tailnet`, `kube`).
    pub port: String,
    /// What was being done (`apply config`, ...).
    pub operation: String,
    /// Class of failure.
    pub kind: PortErrorKind,
    /// What happened and what to do, lower-case.
    pub message: String,
    #[serde(skip)]
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl PortError {
    /// Builds a port error.
    ///
    /// # Usage
    /// ```
    /// use rollout_core::{PortError, PortErrorKind};
    /// let error = PortError::new("talos", "reboot", PortErrorKind::Unavailable, "node is down");
    /// assert!(error.is_retryable());
    /// assert_eq!(error.to_string(), "talos reboot failed: node is down");
    /// ```
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
            source: None,
        }
    }

    /// Keeps `source` as the underlying error (its text is not added to the message).
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// True when retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == PortErrorKind::Unavailable
    }

    /// True when the peer is already carrying out an earlier request ([`PortErrorKind::Busy`]).
    pub fn is_busy(&self) -> bool {
        self.kind == PortErrorKind::Busy
    }

    /// True when the peer does not support the operation.
    pub fn is_unsupported(&self) -> bool {
        self.kind == PortErrorKind::Unsupported
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} failed: {}",
            self.port, self.operation, self.message
        )
    }
}

impl fmt::Debug for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortError")
            .field("port", &self.port)
            .field("operation", &self.operation)
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("has_source", &self.source.is_some())
            .finish()
    }
}

impl StdError for PortError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

impl PartialEq for PortError {
    fn eq(&self, other: &Self) -> bool {
        self.port == other.port
            && self.operation == other.operation
            && self.kind == other.kind
            && self.message == other.message
    }
}

impl Eq for PortError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_kept_but_not_serialized_or_compared() {
        let io = std::io::Error::other("connection reset");
        let error =
            PortError::new("talos", "inspect", PortErrorKind::Unavailable, "down").with_source(io);
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("connection reset")
        );
        let json = serde_json::to_string(&error).unwrap_or_default();
        assert!(!json.contains("connection reset"), "{json}");
        let plain = PortError::new("talos", "inspect", PortErrorKind::Unavailable, "down");
        assert_eq!(error, plain);
    }
}
