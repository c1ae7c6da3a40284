//! What an extension profile contributes to a plan, as plain data: the extensions to add,
//! each node's `ExtensionServiceConfig`, the node checks Verify adds, and the post-verify
//! steps (named checks and actions the profile carries out in the driver).
//!
//! The core knows no extension by name: Tailscale, NUT or iSCSI are profiles that fill an
//! [`ExtensionRequest`]. The request's secrets (the configs) never reach the [`Plan`]: the
//! plan keeps a digest and a redacted environment, and the configs travel separately as
//! [`NodeConfigs`](crate::plan::NodeConfigs).
//!
//! [`Plan`]: crate::Plan

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::esc::{EscDigest, ExtensionServiceConfig};

/// A Talos-side check a profile adds to Verify (and Soak), evaluated from the node's own
/// resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "check")]
#[non_exhaustive]
pub enum NodeCheck {
    /// `net.ipv4.ip_forward` is 1 (subnet routers, VPNs).
    IpForward,
    /// A Talos service (`ext-iscsid`) is running and healthy.
    ServiceRunning {
        /// Service ID.
        service: String,
    },
}

/// One step after Verify, in order: checks that must hold, or an action to carry out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PostVerifyStep {
    /// Named profile checks that must all pass (polled until the post-verify timeout).
    Check {
        /// Check names, as the profile's driver half knows them.
        checks: Vec<String>,
    },
    /// A named action the profile performs once (idempotent: it may run again after a crash).
    Act {
        /// Action name.
        action: String,
    },
}

/// What a profile asks for on one node (the input of [`crate::plan()`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NodeExtension {
    /// The `ExtensionServiceConfig` document the node gets (holds secrets), if any.
    pub config: Option<ExtensionServiceConfig>,
    /// Talos checks added to Verify and Soak.
    pub node_checks: Vec<NodeCheck>,
    /// Steps after Verify.
    pub post_verify: Vec<PostVerifyStep>,
    /// Named profile checks repeated at the end of the soak time.
    pub soak_checks: Vec<String>,
    /// Public facts for display and for the profile's own checks (e.g. `hostname`, `routes`).
    pub details: BTreeMap<String, String>,
}

impl std::fmt::Debug for NodeExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeExtension")
            .field(
                "config",
                &self
                    .config
                    .as_ref()
                    .map(|config| (&config.name, crate::esc::redacted_environment(config))),
            )
            .field("node_checks", &self.node_checks)
            .field("post_verify", &self.post_verify)
            .field("soak_checks", &self.soak_checks)
            .field("details", &self.details)
            .finish()
    }
}

/// Everything a profile asks of a rollout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionRequest {
    /// Profile name (`tailscale`), recorded in the plan.
    pub profile: String,
    /// Official extensions added to every node's schematic (`siderolabs/tailscale`).
    pub extensions: Vec<String>,
    /// True when the extension does nothing without its `ExtensionServiceConfig`.
    pub requires_config: bool,
    /// Per-node requests, keyed like the plan's node names.
    pub nodes: BTreeMap<String, NodeExtension>,
}

/// The `ExtensionServiceConfig` a node will get, described without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedEsc {
    /// Document name (also the extension service's name: `ext-<name>`).
    pub name: String,
    /// Digest of the new content.
    pub digest: EscDigest,
    /// True when the node's current document differs (or is missing).
    pub changed: bool,
    /// Environment with secret values redacted, for display.
    pub environment: Vec<String>,
}

/// The profile's part of one node's plan (public: no secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionPlan {
    /// Profile name.
    pub profile: String,
    /// The config the node gets, if any.
    pub esc: Option<PlannedEsc>,
    /// Talos checks added to Verify and Soak.
    pub node_checks: Vec<NodeCheck>,
    /// Steps after Verify.
    pub post_verify: Vec<PostVerifyStep>,
    /// Named profile checks repeated at the end of the soak time.
    pub soak_checks: Vec<String>,
    /// Public facts (hostname, routes, ...).
    pub details: BTreeMap<String, String>,
}

impl ExtensionPlan {
    /// The Talos service the extension runs as (`ext-<config name>`), when it has a config.
    pub fn service(&self) -> Option<String> {
        self.esc.as_ref().map(|esc| format!("ext-{}", esc.name))
    }
}
