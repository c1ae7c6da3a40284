//! The injected schematic resolver: turns a requested schematic into its ID and installer image.

use serde::{Deserialize, Serialize};

use crate::version::TalosVersion;

/// What the planner asks the resolver to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchematicRequest<'a> {
    /// The node's current schematic plus extensions.
    Extend {
        /// The running schematic's YAML when known (keeps kernel args, overlays).
        current_yaml: Option<&'a str>,
        /// Official extensions the node runs today.
        current_extensions: &'a [String],
        /// Extensions to add.
        add: &'a [String],
    },
    /// A whole schematic given by the user.
    Replace {
        /// Schematic YAML.
        yaml: &'a str,
    },
}

/// A resolved target schematic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedSchematic {
    /// Schematic ID (64 hex characters).
    pub id: String,
    /// Its official extensions.
    pub extensions: Vec<String>,
    /// Its YAML, to be registered with the Image Factory before the first install.
    pub yaml: String,
}

/// A node's current installer image as the Image Factory names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallerFlavour {
    /// The registry host (and path prefix) it came from, e.g. `factory.talos.dev`.
    pub factory_host: String,
    /// The Image Factory platform (`metal` for the legacy `installer` name).
    pub platform: String,
    /// A SecureBoot installer.
    pub secureboot: bool,
}

/// Offline schematic model: IDs and installer references without network access.
///
/// The real implementation sits on `factory-client` (offline schematic ID, installer
/// naming rules); tests use deterministic fakes.
pub trait SchematicResolver {
    /// Resolves a requested schematic.
    ///
    /// # Errors
    /// [`crate::Error::SchematicResolution`] when the request is not a valid schematic.
    fn resolve(&self, request: &SchematicRequest<'_>) -> crate::Result<ResolvedSchematic>;

    /// The installer image reference for a schematic and version.
    ///
    /// # Errors
    /// [`crate::Error::SchematicResolution`] when no reference can be built (bad host or platform).
    fn installer_image(
        &self,
        factory_host: &str,
        platform: &str,
        secureboot: bool,
        schematic_id: &str,
        version: &TalosVersion,
    ) -> crate::Result<String>;

    /// Reads an installer image reference (a node's `machine.install.image`): `None` when it
    /// is not a factory installer (e.g. `ghcr.io/siderolabs/installer:v1.10.4`).
    fn installer_flavour(&self, image: &str) -> Option<InstallerFlavour>;
}
