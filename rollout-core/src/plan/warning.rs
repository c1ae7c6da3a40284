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
    /// The node's current installer image is not a factory installer and the spec did not
    /// name the platform or SecureBoot flavour: the target installer assumes these.
    InstallerFlavourAssumed {
        /// Node.
        node: String,
        /// Its current `machine.install.image`, if any.
        image: Option<String>,
        /// The platform the target installer uses.
        platform: String,
        /// Whether the target installer is the SecureBoot one.
        secureboot: bool,
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
            PlanWarning::InstallerFlavourAssumed {
                node,
                image,
                platform,
                secureboot,
            } => write!(
                f,
                "{node}: its install image ({}) is not an Image Factory installer, so the target installer \
                 assumes platform {platform}{}; set the spec's platform and secureboot if that is wrong",
                image.as_deref().unwrap_or("none"),
                if *secureboot {
                    " with SecureBoot"
                } else {
                    " without SecureBoot"
                },
            ),
            PlanWarning::ExtensionWithoutConfig { node, profile } => write!(
                f,
                "{node}: gets the {profile} extension without its ExtensionServiceConfig; its service stays \
                 Waiting until one exists and verification will fail"
            ),
        }
    }
}
