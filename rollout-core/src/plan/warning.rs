//! Things the planner accepts but the user should know.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A plan-level warning that explains itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlanWarning {
    /// The version step skips one or more minor versions (Talos supports one minor at a time).
    SkippedMinorVersion {
        /// Node.
        node: String,
        /// From version.
        from: String,
        /// To version.
        to: String,
    },
    /// The target is an older version than the node runs.
    Downgrade {
        /// Node.
        node: String,
        /// From version.
        from: String,
        /// To version.
        to: String,
    },
    /// The node's schematic was unknown; its extensions were derived from the running ones.
    ExtensionsDerivedFromRunning {
        /// Node.
        node: String,
    },
    /// Extensions will be removed (allowed explicitly).
    ExtensionsRemoved {
        /// Node.
        node: String,
        /// Removed extensions.
        extensions: Vec<String>,
    },
    /// The node gets an extension that needs a config, but no config: its service would
    /// wait forever.
    ExtensionWithoutConfig {
        /// Node.
        node: String,
        /// Profile.
        profile: String,
    },
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanWarning::SkippedMinorVersion { node, from, to } => write!(
                f,
                "{node}: {from} → {to} skips a minor version; Talos supports upgrading one minor version at a time, \
                 consider an intermediate rollout"
            ),
            PlanWarning::Downgrade { node, from, to } => {
                write!(
                    f,
                    "{node}: {to} is older than the running {from}; this is a downgrade"
                )
            }
            PlanWarning::ExtensionsDerivedFromRunning { node } => write!(
                f,
                "{node}: the running schematic is unknown, so its extensions were taken from the running extension \
                 names (as siderolabs/<name>); check the target schematic"
            ),
            PlanWarning::ExtensionsRemoved { node, extensions } => write!(
                f,
                "{node}: the target schematic removes {} (allowed by allow_extension_removal)",
                extensions.join(", ")
            ),
            PlanWarning::ExtensionWithoutConfig { node, profile } => write!(
                f,
                "{node}: gets the {profile} extension without its ExtensionServiceConfig; its service stays \
                 Waiting until one exists and verification will fail"
            ),
        }
    }
}
