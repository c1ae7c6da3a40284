//! Per-phase time limits and the check interval.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long each phase may take before the node fails, and how often checks repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhaseTimeouts {
    /// Precheck gates (cluster health, etcd) before touching a node.
    #[serde(with = "super::duration", rename = "precheck_seconds")]
    pub precheck: Duration,
    /// Any single RPC-like step (backup, apply config, reboot request, cordon, extension action).
    #[serde(with = "super::duration", rename = "step_seconds")]
    pub step: Duration,
    /// Writing the installer (pull + install).
    #[serde(with = "super::duration", rename = "install_seconds")]
    pub install: Duration,
    /// Drain (only when a Kubernetes port is given).
    #[serde(with = "super::duration", rename = "drain_seconds")]
    pub drain: Duration,
    /// From the reboot request until the node runs again with a new boot ID.
    #[serde(with = "super::duration", rename = "await_reboot_seconds")]
    pub await_reboot: Duration,
    /// Node verification (version, schematic, extension, service, ip_forward, Ready).
    #[serde(with = "super::duration", rename = "verify_seconds")]
    pub verify: Duration,
    /// The extension profile's post-verify checks (for Tailscale: device online, routes
    /// advertised and approved).
    #[serde(with = "super::duration", rename = "post_verify_seconds")]
    pub post_verify: Duration,
    /// Pause between two checks of a gate, and between reboot probes.
    #[serde(with = "super::duration", rename = "check_interval_seconds")]
    pub check_interval: Duration,
}

impl Default for PhaseTimeouts {
    fn default() -> Self {
        PhaseTimeouts {
            precheck: Duration::from_secs(300),
            step: Duration::from_secs(120),
            install: Duration::from_secs(1200),
            drain: Duration::from_secs(300),
            await_reboot: Duration::from_secs(900),
            verify: Duration::from_secs(600),
            post_verify: Duration::from_secs(600),
            check_interval: Duration::from_secs(5),
        }
    }
}

impl PhaseTimeouts {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        let all = [
            ("precheck_seconds", self.precheck),
            ("step_seconds", self.step),
            ("install_seconds", self.install),
            ("drain_seconds", self.drain),
            ("await_reboot_seconds", self.await_reboot),
            ("verify_seconds", self.verify),
            ("post_verify_seconds", self.post_verify),
            ("check_interval_seconds", self.check_interval),
        ];
        for (name, value) in all {
            if value.is_zero() {
                return Err(crate::Error::spec(
                    format!("timeouts.{name}"),
                    "must be at least 1 second",
                ));
            }
        }
        if self.check_interval > self.verify || self.check_interval > self.post_verify {
            return Err(crate::Error::spec(
                "timeouts.check_interval_seconds",
                "must not exceed the verify and post-verify timeouts, or no check would ever repeat",
            ));
        }
        Ok(())
    }
}
