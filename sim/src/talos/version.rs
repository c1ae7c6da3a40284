//! Talos version tags (`v1.10.4`) and the feature gates that depend on them.

/// A node's Talos version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TalosVersion {
    parsed: Option<semver::Version>,
}

impl TalosVersion {
    pub(crate) fn new(tag: &str) -> Self {
        Self {
            parsed: semver::Version::parse(tag.trim_start_matches('v')).ok(),
        }
    }

    /// Whether the version is `major.minor.0` or newer (pre-releases of it count).
    pub(crate) fn at_least(&self, major: u64, minor: u64) -> bool {
        self.parsed
            .as_ref()
            .is_some_and(|v| (v.major, v.minor) >= (major, minor))
    }
}

/// The image and lifecycle services exist from Talos 1.13 on.
pub(crate) fn has_lifecycle_api(version: &TalosVersion) -> bool {
    version.at_least(1, 13)
}

/// `BootIDs.runtime.talos.dev` exists from Talos 1.14 on.
pub(crate) fn has_boot_id_resource(version: &TalosVersion) -> bool {
    version.at_least(1, 14)
}

/// `ImageFactorySchematics.runtime.talos.dev` exists from Talos 1.14 on.
pub(crate) fn has_image_factory_schematic_resource(version: &TalosVersion) -> bool {
    version.at_least(1, 14)
}
