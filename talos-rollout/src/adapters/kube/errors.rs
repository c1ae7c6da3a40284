//! kube-rs failures as [`PortError`]s: the apiserver's Status (code and message) turned into
//! a kind the machine reasons about and a message that says what to do next.

use rollout_core::{PortError, PortErrorKind};

/// The port name in every error.
pub(crate) const PORT: &str = "kube";

/// The apiserver's Status, when the failure is one.
pub(crate) fn status(error: &kube::Error) -> Option<&kube::core::Status> {
    match error {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

/// Whether the apiserver answered with HTTP `code` (read from the Status body, as kube-rs does).
pub(crate) fn has_code(error: &kube::Error, code: u16) -> bool {
    status(error).is_some_and(|s| s.code == code)
}

/// Maps a kube-rs failure during `operation` on `target` to a port error.
pub(crate) fn port_error(operation: &str, target: &str, error: kube::Error) -> PortError {
    let (kind, message) = match status(&error) {
        Some(s) => {
            let kind = match s.code {
                404 => PortErrorKind::NotFound,
                401 | 403 => PortErrorKind::PermissionDenied,
                400 | 409 | 415 | 422 => PortErrorKind::Rejected,
                429 | 500 | 502 | 503 | 504 => PortErrorKind::Unavailable,
                _ => PortErrorKind::Other,
            };
            let hint = match kind {
                PortErrorKind::NotFound => {
                    "check the Kubernetes node name (the Talos Nodename resource)"
                }
                PortErrorKind::PermissionDenied => {
                    "use a kubeconfig allowed to patch nodes, list pods, create pods/eviction and write leases"
                }
                PortErrorKind::Unavailable => {
                    "the Kubernetes API is not serving; retry when it is back"
                }
                _ => "see the API server's message",
            };
            (
                kind,
                format!(
                    "{target}: the Kubernetes API answered {} {}: {}; {hint}",
                    s.code, s.reason, s.message
                ),
            )
        }
        None => (
            PortErrorKind::Unavailable,
            format!(
                "{target}: the Kubernetes API could not be reached ({error}); check the kubeconfig's server address and that the API is up"
            ),
        ),
    };
    PortError::new(PORT, operation, kind, message).with_source(error)
}
