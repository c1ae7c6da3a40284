//! The crate's error type: what went wrong talking to Talos, and what to do about it.

use std::fmt;
use std::time::Duration;

use crate::config::ConfigError;
use crate::identity::{IdentityError, Role, Roles};
use crate::machine_config::MachineConfigError;

/// A gRPC status code as reported by a Talos node (or by the transport on its behalf).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// The operation was cancelled.
    Cancelled,
    /// An error the server did not classify.
    Unknown,
    /// The request was malformed or rejected by validation.
    InvalidArgument,
    /// The deadline expired before the operation completed.
    DeadlineExceeded,
    /// The requested entity (resource, file, service) does not exist.
    NotFound,
    /// The entity already exists.
    AlreadyExists,
    /// The caller's certificate lacks a role the call needs.
    PermissionDenied,
    /// A resource (such as message size) is exhausted.
    ResourceExhausted,
    /// The system is not in a state that allows the operation.
    FailedPrecondition,
    /// The operation was aborted, typically by a concurrency conflict.
    Aborted,
    /// The operation went past a valid range.
    OutOfRange,
    /// The node does not implement the method (an older Talos version).
    Unimplemented,
    /// An internal server error.
    Internal,
    /// The node or endpoint is unreachable right now (for example while rebooting).
    Unavailable,
    /// Unrecoverable data loss.
    DataLoss,
    /// The request lacks valid authentication.
    Unauthenticated,
}

impl Code {
    pub(crate) fn from_tonic(code: tonic::Code) -> Self {
        match code {
            tonic::Code::Ok | tonic::Code::Unknown => Self::Unknown,
            tonic::Code::Cancelled => Self::Cancelled,
            tonic::Code::InvalidArgument => Self::InvalidArgument,
            tonic::Code::DeadlineExceeded => Self::DeadlineExceeded,
            tonic::Code::NotFound => Self::NotFound,
            tonic::Code::AlreadyExists => Self::AlreadyExists,
            tonic::Code::PermissionDenied => Self::PermissionDenied,
            tonic::Code::ResourceExhausted => Self::ResourceExhausted,
            tonic::Code::FailedPrecondition => Self::FailedPrecondition,
            tonic::Code::Aborted => Self::Aborted,
            tonic::Code::OutOfRange => Self::OutOfRange,
            tonic::Code::Unimplemented => Self::Unimplemented,
            tonic::Code::Internal => Self::Internal,
            tonic::Code::Unavailable => Self::Unavailable,
            tonic::Code::DataLoss => Self::DataLoss,
            tonic::Code::Unauthenticated => Self::Unauthenticated,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Cancelled => "cancelled",
            Self::Unknown => "unknown",
            Self::InvalidArgument => "invalid argument",
            Self::DeadlineExceeded => "deadline exceeded",
            Self::NotFound => "not found",
            Self::AlreadyExists => "already exists",
            Self::PermissionDenied => "permission denied",
            Self::ResourceExhausted => "resource exhausted",
            Self::FailedPrecondition => "failed precondition",
            Self::Aborted => "aborted",
            Self::OutOfRange => "out of range",
            Self::Unimplemented => "unimplemented",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::DataLoss => "data loss",
            Self::Unauthenticated => "unauthenticated",
        };
        f.write_str(name)
    }
}

/// Where a call went: the gRPC method and the node it targeted (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTarget {
    /// The gRPC method path, for example `/machine.MachineService/Reboot`.
    pub method: &'static str,
    /// The `node` the call was routed to, or `None` for the endpoint itself.
    pub node: Option<String>,
}

impl fmt::Display for CallTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some(node) => write!(f, "{} on node {node}", self.method),
            None => write!(f, "{} on the endpoint", self.method),
        }
    }
}

/// Everything that can go wrong using this crate.
///
/// Ask the predicates ([`Error::is_unavailable`], [`Error::is_not_found`], …) rather than
/// matching variants: new variants may be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The talosconfig is unusable (including a client identity read from it).
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A client identity given directly (not read from a talosconfig) is unusable.
    #[error(transparent)]
    Identity(#[from] IdentityError),

    /// A machine configuration could not be parsed, edited or validated.
    #[error(transparent)]
    MachineConfig(#[from] MachineConfigError),

    /// The client was built without any endpoint.
    #[error(
        "no endpoints configured; add at least one endpoint (host or host:port) to the talosconfig context or the client builder"
    )]
    NoEndpoints,

    /// An argument given by the caller is invalid; nothing was sent.
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// What was invalid (for example `node name "a,b"`).
        what: String,
        /// Why, and what is accepted instead.
        reason: String,
    },

    /// No endpoint could be reached (TCP, TLS or HTTP/2 set-up failed on each).
    #[error("cannot connect to any endpoint ({}); check that the endpoints are reachable on port 50000 and that the talosconfig CA matches the cluster", .failures.join("; "))]
    Connect {
        /// One line per endpoint tried: `endpoint: reason`.
        failures: Vec<String>,
    },

    /// The certificate lacks the role a call needs; checked locally or reported by the node.
    #[error(
        "{target}: permission denied: needs {}, but the client certificate has {roles}; use a talosconfig with a certificate holding one of the needed roles",
        display_roles(required)
    )]
    PermissionDenied {
        /// The call that was refused (or would have been).
        target: CallTarget,
        /// Roles of which at least one is needed.
        required: Vec<Role>,
        /// Roles the client certificate carries.
        roles: Roles,
    },

    /// The node answered with a gRPC error.
    #[error("{target}: {code}: {message}{}", hint(*code))]
    Api {
        /// The call that failed.
        target: CallTarget,
        /// The gRPC status code.
        code: Code,
        /// The node's message.
        message: String,
    },

    /// A call or wait did not finish in time.
    #[error(
        "{what} did not finish within {after:?}; the node may be slow or unreachable, retry or raise the timeout"
    )]
    Timeout {
        /// What was being waited for.
        what: String,
        /// The limit that was reached.
        after: Duration,
    },

    /// The node's answer could not be understood.
    #[error(
        "{target}: unexpected response: {detail}; the node may run an incompatible Talos version"
    )]
    Protocol {
        /// The call whose response was unexpected.
        target: CallTarget,
        /// What was wrong with it.
        detail: String,
    },

    /// A COSI resource spec could not be decoded as the expected type.
    #[error(
        "cannot decode the spec of resource {resource_type}/{id}: {detail}; the node may run an incompatible Talos version, read it with the raw resource API instead"
    )]
    DecodeSpec {
        /// The resource type.
        resource_type: String,
        /// The resource id.
        id: String,
        /// What failed.
        detail: String,
    },

    /// An operation ran on the node but reported failure.
    #[error("{target}: {operation} failed: {detail}")]
    OperationFailed {
        /// The call that ran the operation.
        target: CallTarget,
        /// The operation, for example `installer` or `sequence "upgrade"`.
        operation: String,
        /// What the node reported (exit code, sequence error).
        detail: String,
    },
}

impl Error {
    /// The gRPC status code, when the error came from a node.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::Api { code, .. } => Some(*code),
            Self::PermissionDenied { .. } => Some(Code::PermissionDenied),
            Self::Connect { .. } => Some(Code::Unavailable),
            _ => None,
        }
    }

    /// True when the node or endpoint could not be reached (for example while it reboots);
    /// retrying later may succeed.
    pub fn is_unavailable(&self) -> bool {
        self.code() == Some(Code::Unavailable)
    }

    /// True when the node does not implement the method (an older Talos version).
    pub fn is_unimplemented(&self) -> bool {
        self.code() == Some(Code::Unimplemented)
    }

    /// True when the requested resource, file or service does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(Code::NotFound)
    }

    /// True when the node refused the call: the client certificate lacks a needed role
    /// ([`Error::PermissionDenied`]), or the node denies it for another reason, as Talos
    /// does for COSI resource types it does not have.
    pub fn is_permission_denied(&self) -> bool {
        self.code() == Some(Code::PermissionDenied)
    }

    /// True when the node refused because it is already running a sequence or an
    /// installation (`FailedPrecondition` "sequence ... is already running" or "another
    /// installation/upgrade is already in progress"): the node is busy with an earlier
    /// request, which is still in progress, so the caller waits for it instead of failing.
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Api {
                code: Code::FailedPrecondition,
                message,
                ..
            } => message.contains("is already running") || message.contains("already in progress"),
            _ => false,
        }
    }

    /// True when the failure is transient: unreachable node, cancelled stream or timeout.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code(),
            Some(Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Aborted)
        ) || matches!(self, Self::Timeout { .. })
    }
}

fn hint(code: Code) -> &'static str {
    match code {
        Code::Unavailable => "; the node may be rebooting or unreachable, retry later",
        Code::Unimplemented => "; the node's Talos version does not support this call",
        Code::NotFound => "; check the name or id",
        Code::FailedPrecondition => "; wait for the conflicting operation to finish and retry",
        Code::InvalidArgument => "; fix the request and retry",
        Code::PermissionDenied => {
            "; the certificate holds a role Talos accepts for this call, so the node refused for another reason (a resource type this Talos version does not have, or custom authorization)"
        }
        Code::DeadlineExceeded => "; the node ran out of time, retry or allow it more time",
        Code::Cancelled | Code::Aborted => "; the call was interrupted, retry it",
        Code::ResourceExhausted => "; the node is overloaded or the message too large, retry later",
        Code::Unauthenticated => {
            "; the node did not accept the client certificate, use the talosconfig of this cluster"
        }
        Code::AlreadyExists | Code::OutOfRange => "; check the request against the node's state",
        Code::Unknown | Code::Internal | Code::DataLoss => {
            "; the node's logs (talosctl logs machined, talosctl dmesg) tell why"
        }
    }
}

fn display_roles(roles: &[Role]) -> String {
    let names: Vec<&str> = roles.iter().map(Role::as_str).collect();
    match names.as_slice() {
        [single] => (*single).to_owned(),
        _ => format!("one of {}", names.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: Code, message: &str) -> Error {
        Error::Api {
            target: CallTarget {
                method: crate::methods::VERSION,
                node: Some("10.0.0.2".to_owned()),
            },
            code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn a_node_already_running_a_sequence_or_installation_is_busy() {
        let sequence = "failed to acquire lock: sequence \"upgrade\" is already running";
        let install = "another installation/upgrade is already in progress";
        assert!(api_error(Code::FailedPrecondition, sequence).is_busy());
        assert!(api_error(Code::FailedPrecondition, install).is_busy());
        assert!(!api_error(Code::FailedPrecondition, "etcd is not healthy").is_busy());
        assert!(!api_error(Code::Internal, sequence).is_busy());
    }

    #[test]
    fn node_errors_say_what_to_do_next() {
        let error = Error::Api {
            target: CallTarget {
                method: crate::methods::VERSION,
                node: Some("10.0.0.2".to_owned()),
            },
            code: Code::Internal,
            message: "boom".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "/machine.MachineService/Version on node 10.0.0.2: internal: boom; the node's logs (talosctl logs machined, talosctl dmesg) tell why"
        );
    }
}
