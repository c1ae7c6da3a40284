//! Switches for how a node's extension services misbehave inside: a service whose entrypoint
//! prints its environment and commands (secrets included), and a Tailscale service that
//! stays up after a failed login.

use std::collections::BTreeSet;

use super::Faults;

/// The extension-service switches inside [`Faults`]' one lock.
#[derive(Debug, Default)]
pub(super) struct ExtensionServiceFaults {
    verbose_logs: BTreeSet<String>,
    tailscale_stays_up: BTreeSet<String>,
}

impl Faults {
    /// The node's extension services log their environment when they start, and
    /// containerboot logs the `tailscale up` command line with its flags (an entrypoint
    /// debugged with `set -x` or `env`): secrets such as `TS_AUTHKEY` reach the service log,
    /// so whatever shows that log must redact them.
    pub fn verbose_service_logs(&self, node: impl Into<String>) -> &Self {
        self.lock()
            .extension_services
            .verbose_logs
            .insert(node.into());
        self
    }

    /// The node's `ext-tailscale` keeps running after a failed login instead of exiting:
    /// the backend error is logged and no device appears (as when tailscaled holds the auth
    /// key itself and retries), so the service looks healthy to Talos.
    pub fn tailscale_stays_up_after_failed_login(&self, node: impl Into<String>) -> &Self {
        self.lock()
            .extension_services
            .tailscale_stays_up
            .insert(node.into());
        self
    }

    /// Whether the node's extension services log their environment and commands.
    pub(crate) fn is_logging_verbosely(&self, node: &str) -> bool {
        self.lock().extension_services.verbose_logs.contains(node)
    }

    /// Whether the node's `ext-tailscale` stays up after a failed login.
    pub(crate) fn is_tailscale_staying_up_after_failed_login(&self, node: &str) -> bool {
        self.lock()
            .extension_services
            .tailscale_stays_up
            .contains(node)
    }
}
