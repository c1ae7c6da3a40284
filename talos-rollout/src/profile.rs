//! [`ExtensionProfile`]: everything extension-specific about a rollout — which extensions to
//! add, each node's `ExtensionServiceConfig`, the checks and actions after Verify, credentials
//! the configs need, and how to read the extension's logs — so that the core, the driver and
//! the journal name no extension.
//!
//! Ready-made profiles live in [`crate::profiles`]; [`NamedCheck`] is the same mechanism for
//! the user's own gates.

use std::fmt;

use async_trait::async_trait;
use futures::stream::BoxStream;
use rollout_core::gate::{CheckResult, GateVerdict};
use rollout_core::plan::NodePlan;
use rollout_core::{ExtensionServiceConfig, NodeExtension, NodeFacts, PortError};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// A credential a profile created for one run (e.g. a Tailscale auth key), or the
/// placeholder a dry run uses.
#[derive(Clone)]
pub struct Credential {
    /// The credential's public ID (recorded in the artifacts so it can be revoked).
    pub id: Option<String>,
    /// The secret the node configs carry.
    pub secret: SecretString,
    /// True when it was created by this run (and must be withdrawn if the run never starts).
    pub minted: bool,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("minted", &self.minted)
            .finish()
    }
}

/// What [`ExtensionProfile::provision`] is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provision<'a> {
    /// A placeholder for the dry run: no side effect at all.
    DryRun,
    /// The credential of the rollout `rollout` names (its ID, recorded in the credential
    /// intent before this call): the profile labels what it creates with it, so that
    /// [`ExtensionProfile::withdraw_unrecorded`] can find it if the run crashes before the
    /// credential's own ID is recorded.
    For {
        /// The rollout's ID.
        rollout: &'a str,
    },
}

/// The label a profile gives a credential it creates for `rollout` (e.g. a Tailscale auth
/// key's description): `talos-rollout <rollout>`.
pub fn credential_label(rollout: &str) -> String {
    format!("talos-rollout {rollout}")
}

/// A cause recognised from the extension's log or the last gate verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecognisedCause {
    /// Stable identifier (`invalid_or_expired_auth_key`).
    pub id: String,
    /// What it means and what to do.
    pub explanation: String,
}

impl fmt::Display for RecognisedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explanation)
    }
}

/// What makes an extension rollout specific to one extension.
///
/// The driver calls [`check`](Self::check) for the check names the profile put into a
/// node's plan and [`act`](Self::act) for its action names; both may run again after a
/// crash, so they must be idempotent. Everything here is validated before the cluster is
/// touched: [`ExtensionRollout`](crate::ExtensionRollout) calls
/// [`validate`](Self::validate) when it is built.
///
/// # Usage
/// A profile for an extension that needs no config and no extra checks:
/// ```
/// use async_trait::async_trait;
/// use rollout_core::gate::CheckResult;
/// use rollout_core::plan::NodePlan;
/// use rollout_core::{ExtensionServiceConfig, NodeExtension, NodeFacts, PortError};
/// use talos_rollout::profile::{Credential, ExtensionProfile};
///
/// struct Gvisor;
///
/// #[async_trait]
/// impl ExtensionProfile for Gvisor {
///     fn name(&self) -> &str { "gvisor" }
///     fn extensions(&self) -> Vec<String> { vec!["siderolabs/gvisor".into()] }
///     fn node_extension(&self, _: &NodeFacts, _: Option<&Credential>) -> rollout_core::Result<NodeExtension> {
///         Ok(NodeExtension::default())
///     }
///     async fn check(&self, name: &str, _: &NodePlan) -> CheckResult {
///         CheckResult { name: name.into(), passed: false, detail: "no such check".into() }
///     }
///     async fn act(&self, action: &str, _: &NodePlan) -> Result<(), PortError> {
///         Err(PortError::new("gvisor", action, rollout_core::PortErrorKind::Unsupported, "no actions"))
///     }
/// }
/// ```
#[async_trait]
pub trait ExtensionProfile: Send + Sync {
    /// Short name (`tailscale`), recorded in the plan and used for file names.
    fn name(&self) -> &str;

    /// Official extensions the profile adds to every node (`siderolabs/tailscale`).
    fn extensions(&self) -> Vec<String>;

    /// True when the extension does nothing without its `ExtensionServiceConfig`.
    fn requires_config(&self) -> bool {
        false
    }

    /// Checks the profile's settings and returns warnings to show; nothing is contacted.
    ///
    /// # Errors
    /// [`rollout_core::Error::InvalidExtensionConfig`] naming what to fix.
    fn validate(&self) -> rollout_core::Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Creates the credential the node configs carry (after the cluster lock is held and
    /// the intent is recorded), labelled with [`credential_label`], or for
    /// [`Provision::DryRun`] a placeholder without any side effect. `None`: the profile
    /// needs none.
    ///
    /// # Errors
    /// When the credential cannot be created; nothing was changed on the cluster.
    async fn provision(&self, request: Provision<'_>) -> crate::Result<Option<Credential>> {
        let _ = request;
        Ok(None)
    }

    /// Withdraws every credential created for `rollout` (found by its
    /// [`credential_label`]) that is still valid: the trace of a run that crashed between
    /// creating a credential and recording its ID. Returns the IDs withdrawn.
    ///
    /// # Errors
    /// When the credentials cannot be listed or withdrawn.
    async fn withdraw_unrecorded(&self, rollout: &str) -> crate::Result<Vec<String>> {
        let _ = rollout;
        Ok(Vec::new())
    }

    /// Withdraws a credential this run created and never handed over (the run did not
    /// start): e.g. revokes a minted auth key.
    ///
    /// # Errors
    /// When withdrawing failed; the caller reports the credential's ID.
    async fn withdraw(&self, credential: &Credential) -> crate::Result<()> {
        let _ = credential;
        Ok(())
    }

    /// The credential a node's current configs already carry, when the node may keep it
    /// instead of getting this run's (for Tailscale: its config holds an auth key and its
    /// device is online). A re-run then leaves a working node alone and creates a credential
    /// only for nodes that need one. `None` (the default): the node gets this run's.
    async fn reusable_credential(
        &self,
        facts: &NodeFacts,
        current: &[ExtensionServiceConfig],
    ) -> Option<Credential> {
        let _ = (facts, current);
        None
    }

    /// What the profile asks for on one node: its config, node checks, post-verify steps.
    ///
    /// # Errors
    /// [`rollout_core::Error::InvalidExtensionConfig`] when no valid config can be built.
    fn node_extension(
        &self,
        facts: &NodeFacts,
        credential: Option<&Credential>,
    ) -> rollout_core::Result<NodeExtension>;

    /// Evaluates one of the profile's named checks for a node (bounded in time).
    async fn check(&self, name: &str, node: &NodePlan) -> CheckResult;

    /// Carries out one of the profile's named actions for a node.
    ///
    /// # Errors
    /// The port error; a retryable one is tried again by the state machine.
    async fn act(&self, action: &str, node: &NodePlan) -> Result<(), PortError>;

    /// The nodes (as `nodes` name them) for which something the profile's checks read has
    /// changed, as the profile learns of it: the driver checks a node waiting after a failed
    /// gate again at once instead of at its next poll (for Tailscale: a listing of the
    /// tailnet showed the node's device changed). `None` (the default): checks are polled.
    fn changes(&self, nodes: &[NodePlan]) -> Option<BoxStream<'static, String>> {
        let _ = nodes;
        None
    }

    /// What the profile can say about a node's extension now, for reports (for Tailscale:
    /// the tailnet device and its routes). `None`: nothing beyond the node checks.
    async fn live_status(&self, node: &NodePlan) -> Option<serde_json::Value> {
        let _ = node;
        None
    }

    /// Causes recognised from the extension service's log tail and the last verdict.
    fn recognise(&self, log: &[String], verdict: Option<&GateVerdict>) -> Vec<RecognisedCause> {
        let _ = (log, verdict);
        Vec::new()
    }

    /// A log line with anything secret-looking that this extension prints replaced (the
    /// driver also replaces every secret value of the node's config).
    fn redact_log_line(&self, line: &str) -> String {
        line.to_owned()
    }

    /// Secret values this profile writes into the files of its `ExtensionServiceConfig`
    /// (secret environment entries are recognised by name), each with the variable a GitOps
    /// repository references it by instead of holding it.
    fn secret_values(&self) -> Vec<SecretValue> {
        Vec::new()
    }
}

/// A secret a profile puts into a node's config, and the variable a repository names it by.
#[derive(Clone)]
pub struct SecretValue {
    /// The env variable talhelper substitutes (`NUT_PASSWORD`).
    pub variable: String,
    /// The value on the node.
    pub value: SecretString,
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretValue")
            .field("variable", &self.variable)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// A user check (storage health, an application probe) that gates name in the spec; the
/// driver evaluates it before the gates that name it.
///
/// # Usage
/// ```
/// use async_trait::async_trait;
/// use rollout_core::gate::CheckResult;
/// use rollout_core::plan::NodePlan;
/// use talos_rollout::profile::NamedCheck;
///
/// struct CephHealthy;
///
/// #[async_trait]
/// impl NamedCheck for CephHealthy {
///     fn name(&self) -> &str { "ceph-healthy" }
///     async fn check(&self, _node: &NodePlan) -> CheckResult {
///         CheckResult { name: "ceph-healthy".into(), passed: true, detail: "HEALTH_OK".into() }
///     }
/// }
/// ```
#[async_trait]
pub trait NamedCheck: Send + Sync {
    /// The name gates and the spec refer to.
    fn name(&self) -> &str;

    /// Evaluates the check for a node (it should bound its own time).
    async fn check(&self, node: &NodePlan) -> CheckResult;
}
