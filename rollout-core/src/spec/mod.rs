//! [`RolloutSpec`]: what the user asks for, with defaults and validation.

pub(crate) mod duration;
mod failure_policy;
mod ordering;
mod target;
mod timeouts;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use failure_policy::FailurePolicy;
pub use ordering::Ordering;
pub use target::TargetSchematic;
pub use timeouts::PhaseTimeouts;

use crate::version::TalosVersion;

/// Names of user gates (registered with the driver) to add to each checking phase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateSettings {
    /// Checked before a node is touched, together with cluster health and etcd.
    pub precheck: Vec<String>,
    /// Checked after the node is back, together with the built-in node checks.
    pub verify: Vec<String>,
    /// Checked once more at the end of the soak time.
    pub soak: Vec<String>,
}

/// Everything a rollout needs to know besides the live cluster.
///
/// Every field has a default, so `{}` is a valid spec: add the profile's extensions to what
/// every node runs, keep each node's Talos version, platform and SecureBoot flavour, halt on
/// the first failure. What the extension is (and its per-node configs) comes from the profile's
/// [`crate::ExtensionRequest`], not from the spec.
///
/// # Usage
/// ```
/// let spec: rollout_core::RolloutSpec = serde_json::from_str(r#"{"soak_seconds": 60}"#).unwrap();
/// spec.validate().unwrap();
/// assert_eq!(spec.platform, None, "each node keeps its own platform");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutSpec {
    /// Extensions to add besides the profile's, or a whole schematic.
    pub target: TargetSchematic,
    /// Talos version to install (`v1.10.4`); `None` keeps each node's own version.
    pub talos_version: Option<String>,
    /// Image Factory platform for every node's installer (`metal`, `aws`, ...). `None`
    /// (the default) keeps each node's own, read from its current factory installer image;
    /// a node whose image is not a factory installer gets `metal`, with a plan warning.
    pub platform: Option<String>,
    /// SecureBoot installer (`true`) or not (`false`) for every node. `None` (the default)
    /// keeps each node's own flavour, as for `platform` (no SecureBoot when unknown).
    pub secureboot: Option<bool>,
    /// Image Factory host for installer references.
    pub factory_host: String,
    /// Ordering and concurrency.
    pub ordering: Ordering,
    /// User gates per phase.
    pub gates: GateSettings,
    /// Time a node must stay healthy after verification before the next starts.
    #[serde(with = "duration", rename = "soak_seconds")]
    pub soak: Duration,
    /// Per-phase timeouts.
    pub timeouts: PhaseTimeouts,
    /// What to do when a node fails.
    pub failure_policy: FailurePolicy,
    /// Where the journal, lock and config backups live.
    pub artifacts_dir: PathBuf,
    /// Allow a target schematic that drops extensions a node runs today.
    pub allow_extension_removal: bool,
    /// Cordon and drain nodes (only when the driver has a Kubernetes port).
    pub drain: bool,
    /// With a Kubernetes port, verification also waits until every running pod on the node
    /// is Ready (besides the node's own Ready condition).
    #[serde(default)]
    pub require_pods_ready: bool,
}

impl Default for RolloutSpec {
    fn default() -> Self {
        RolloutSpec {
            target: TargetSchematic::default(),
            talos_version: None,
            platform: None,
            secureboot: None,
            factory_host: "factory.talos.dev".to_owned(),
            ordering: Ordering::default(),
            gates: GateSettings::default(),
            soak: Duration::from_secs(60),
            timeouts: PhaseTimeouts::default(),
            failure_policy: FailurePolicy::Halt,
            artifacts_dir: PathBuf::from("rollout-artifacts"),
            allow_extension_removal: false,
            drain: true,
            require_pods_ready: false,
        }
    }
}

impl RolloutSpec {
    /// Checks the spec; nothing is contacted.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSpec`] naming the field and the fix.
    pub fn validate(&self) -> crate::Result<()> {
        self.target.validate()?;
        if let Some(version) = &self.talos_version {
            TalosVersion::parse(version)
                .map_err(|reason| crate::Error::spec("talos_version", reason))?;
        }
        if self.platform.as_deref().is_some_and(|platform| {
            platform.trim().is_empty() || platform.contains(['/', ':', ' '])
        }) {
            return Err(crate::Error::spec(
                "platform",
                "use an Image Factory platform name such as metal or aws",
            ));
        }
        if self.factory_host.trim().is_empty() || self.factory_host.contains(['/', ' ']) {
            return Err(crate::Error::spec(
                "factory_host",
                "use a registry host such as factory.talos.dev",
            ));
        }
        if self.ordering.max_unavailable == 0 {
            return Err(crate::Error::spec(
                "ordering.max_unavailable",
                "must be at least 1",
            ));
        }
        self.timeouts.validate()?;
        if self.artifacts_dir.as_os_str().is_empty() {
            return Err(crate::Error::spec(
                "artifacts_dir",
                "name a directory for the journal and backups",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn empty_spec_means_only_the_profiles_extensions_with_safe_defaults() {
        let spec: RolloutSpec = serde_json::from_str("{}").unwrap();
        assert_eq!(spec.target, TargetSchematic::AddExtensions(vec![]));
        assert_eq!(spec.ordering.max_unavailable, 1);
        assert!(spec.ordering.etcd_leader_last);
        assert_eq!(spec.failure_policy, FailurePolicy::Halt);
        spec.validate().unwrap();
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused_with_the_field_name() {
        assert!(serde_json::from_str::<RolloutSpec>(r#"{"max_unavalable": 2}"#).is_err());
        let spec: RolloutSpec =
            serde_json::from_str(r#"{"ordering": {"max_unavailable": 0}}"#).unwrap();
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("ordering.max_unavailable")
        );
        let spec: RolloutSpec = serde_json::from_str(r#"{"talos_version": "1.10"}"#).unwrap();
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("talos_version")
        );
        let spec: RolloutSpec =
            serde_json::from_str(r#"{"target": {"add_extensions": ["tailscale"]}}"#).unwrap();
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("siderolabs/tailscale")
        );
    }

    #[test]
    fn durations_are_seconds() {
        let spec: RolloutSpec =
            serde_json::from_str(r#"{"soak_seconds": 5, "timeouts": {"verify_seconds": 30}}"#)
                .unwrap();
        assert_eq!(spec.soak, Duration::from_secs(5));
        assert_eq!(spec.timeouts.verify, Duration::from_secs(30));
        assert_eq!(spec.timeouts.install, PhaseTimeouts::default().install);
    }
}
