//! `ApplyConfiguration`: replace a node's complete machine configuration.

use std::time::Duration;

use crate::client::{NodeClient, machine_api, single};
use crate::error::Error;
use crate::methods;
use crate::proto::machine::{ApplyConfigurationRequest, apply_configuration_request::Mode};
use crate::transport::{Failover, request};

/// How a node should apply a new configuration. `REBOOT` is deliberately absent: it is
/// deprecated upstream and refused by Talos 1.14+.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApplyMode {
    /// Apply without reboot when possible; on Talos ≤ 1.13 a change that needs a reboot
    /// silently reboots the node. Prefer [`ApplyMode::NoReboot`].
    Auto,
    /// Apply without reboot, or fail with `InvalidArgument` when a reboot would be needed.
    NoReboot,
    /// Store the configuration and apply it at the next reboot.
    Staged,
    /// Apply, and roll back unless confirmed within the timeout (Talos default when `None`).
    Try(Option<Duration>),
}

/// The mode a node actually used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppliedMode {
    /// The node rebooted (or will) to apply the configuration.
    Reboot,
    /// Applied without reboot where possible (Talos ≤ 1.13).
    Auto,
    /// Applied without reboot.
    NoReboot,
    /// Staged for the next reboot.
    Staged,
    /// Applied in try mode.
    Try,
    /// A mode number this client does not know.
    Other(i32),
}

impl AppliedMode {
    fn from_wire(mode: i32) -> Self {
        match Mode::try_from(mode) {
            Ok(Mode::Reboot) => Self::Reboot,
            Ok(Mode::Auto) => Self::Auto,
            Ok(Mode::NoReboot) => Self::NoReboot,
            Ok(Mode::Staged) => Self::Staged,
            Ok(Mode::Try) => Self::Try,
            Err(_) => Self::Other(mode),
        }
    }
}

/// What the node reported after applying (or dry-running) a configuration.
///
/// `Debug` leaves out the body of a dry-run diff: it quotes configuration values, which
/// may be secrets (auth keys in an ExtensionServiceConfig).
#[derive(Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Validation warnings.
    pub warnings: Vec<String>,
    /// The mode actually used.
    pub mode: AppliedMode,
    /// Human-readable details; for a dry run it starts with "Dry run summary:" and holds a diff.
    pub details: String,
}

/// How a dry run's `mode_details` starts; the config diff follows.
const DRY_RUN_PREFIX: &str = "Dry run summary:";

impl std::fmt::Debug for ApplyOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let details: &dyn std::fmt::Debug = if self.details.starts_with(DRY_RUN_PREFIX) {
            &"Dry run summary: [diff omitted: may quote secrets]"
        } else {
            &self.details
        };
        f.debug_struct("ApplyOutcome")
            .field("warnings", &self.warnings)
            .field("mode", &self.mode)
            .field("details", details)
            .finish()
    }
}

impl NodeClient {
    /// Sends the **complete** multi-document machine configuration `config` to the node.
    ///
    /// With `dry_run` the node only validates and reports the diff in
    /// [`ApplyOutcome::details`]; nothing changes.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with `InvalidArgument` for a config the node rejects (strict
    /// parsing, duplicate documents, a change `NoReboot` cannot apply) or
    /// `FailedPrecondition` when another apply is in progress; [`Error::PermissionDenied`]
    /// without `os:admin`.
    pub async fn apply_configuration(
        &self,
        config: &[u8],
        mode: ApplyMode,
        dry_run: bool,
    ) -> Result<ApplyOutcome, Error> {
        let context = self.context(methods::APPLY_CONFIGURATION);
        let (wire_mode, try_timeout) = match mode {
            ApplyMode::Auto => (Mode::Auto, None),
            ApplyMode::NoReboot => (Mode::NoReboot, None),
            ApplyMode::Staged => (Mode::Staged, None),
            ApplyMode::Try(timeout) => (Mode::Try, timeout),
        };
        let message = ApplyConfigurationRequest {
            data: config.to_vec(),
            mode: wire_mode.into(),
            dry_run,
            try_mode_timeout: try_timeout.and_then(|timeout| timeout.try_into().ok()),
        };
        let response = self
            .call(&context, Failover::OnConnectFailure, |channel, node| {
                let message = message.clone();
                async move {
                    machine_api(channel)
                        .apply_configuration(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        let applied = single(&context, response.messages)?;
        Ok(ApplyOutcome {
            warnings: applied.warnings,
            mode: AppliedMode::from_wire(applied.mode),
            details: applied.mode_details,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(details: &str) -> ApplyOutcome {
        ApplyOutcome {
            warnings: vec![],
            mode: AppliedMode::NoReboot,
            details: details.to_owned(),
        }
    }

    #[test]
    fn debug_omits_a_dry_run_diff_but_shows_other_details() {
        let dry_run = outcome("Dry run summary:\n+ - TS_AUTHKEY=tskey-auth-secret");
        let shown = format!("{dry_run:?}");
        assert!(!shown.contains("tskey"), "{shown}");
        assert!(shown.contains("diff omitted"), "{shown}");
        let applied = outcome("Applied configuration without a reboot");
        assert!(format!("{applied:?}").contains("without a reboot"));
    }
}
