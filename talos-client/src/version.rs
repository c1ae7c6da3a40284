//! Pure facts about Talos versions that decide which API a client may use.

use semver::Version;

/// True when the version tag is within talosctl's gate for the 1.13+ upgrade API:
/// `>1.13.0-alpha.2 <2.0.0`. A tag that is not semver (with or without `v`) is outside.
///
/// # Usage
///
/// ```
/// use talos_client::version::supports_lifecycle_api;
///
/// assert!(supports_lifecycle_api("v1.13.0"));
/// assert!(!supports_lifecycle_api("v1.12.6"));
/// ```
pub fn supports_lifecycle_api(tag: &str) -> bool {
    let (Ok(version), Ok(lower)) = (
        Version::parse(tag.trim_start_matches('v')),
        Version::parse("1.13.0-alpha.2"),
    ) else {
        return false;
    };
    version > lower && version < Version::new(2, 0, 0)
}

/// True when the version tag serves `BootIDs.runtime.talos.dev`: Talos 1.14 and newer
/// (any 1.14 pre-release included). Older nodes have no such type; reading it there is
/// refused as permission denied, so their boot ID comes from the kernel file instead.
///
/// # Usage
///
/// ```
/// use talos_client::version::has_boot_id_resource;
///
/// assert!(has_boot_id_resource("v1.14.1"));
/// assert!(!has_boot_id_resource("v1.13.4"));
/// ```
pub fn has_boot_id_resource(tag: &str) -> bool {
    at_least(tag, "1.14.0-alpha.0")
}

/// True when the version tag serves `ImageFactorySchematics.runtime.talos.dev`: Talos
/// 1.14.0-alpha.2 and newer. Every version also reports the schematic as the `schematic`
/// pseudo-extension among `ExtensionStatuses`.
///
/// # Usage
///
/// ```
/// use talos_client::version::has_image_factory_schematic_resource;
///
/// assert!(has_image_factory_schematic_resource("v1.14.0"));
/// assert!(!has_image_factory_schematic_resource("v1.14.0-alpha.1"));
/// ```
pub fn has_image_factory_schematic_resource(tag: &str) -> bool {
    at_least(tag, "1.14.0-alpha.2")
}

/// `tag` (with or without `v`) is semver and at least `lower`, and below 2.0.0.
fn at_least(tag: &str, lower: &str) -> bool {
    let (Ok(version), Ok(lower)) = (
        Version::parse(tag.trim_start_matches('v')),
        Version::parse(lower),
    ) else {
        return false;
    };
    version >= lower && version < Version::new(2, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::{
        has_boot_id_resource, has_image_factory_schematic_resource, supports_lifecycle_api,
    };

    #[test]
    fn the_1_14_resources_are_gated_on_the_version() {
        for tag in ["v1.14.0", "v1.14.0-alpha.1", "1.14.3", "v1.15.0-beta.0"] {
            assert!(has_boot_id_resource(tag), "{tag} serves BootIDs");
        }
        for tag in ["v1.13.9", "v1.13.0", "v1.12.6", "v2.0.0", "garbage", ""] {
            assert!(!has_boot_id_resource(tag), "{tag} has no BootIDs");
        }
        for tag in ["v1.14.0-alpha.2", "v1.14.0", "v1.15.1"] {
            assert!(
                has_image_factory_schematic_resource(tag),
                "{tag} serves ImageFactorySchematics"
            );
        }
        for tag in ["v1.14.0-alpha.1", "v1.13.9", "garbage"] {
            assert!(
                !has_image_factory_schematic_resource(tag),
                "{tag} has no ImageFactorySchematics"
            );
        }
    }

    #[test]
    fn the_version_gate_matches_talosctl() {
        for tag in [
            "v1.13.0",
            "v1.13.0-beta.1",
            "v1.13.0-alpha.3",
            "v1.14.0-rc.1",
            "v1.99.0",
        ] {
            assert!(
                supports_lifecycle_api(tag),
                "{tag} should use the lifecycle API"
            );
        }
        for tag in [
            "v1.12.6",
            "v1.13.0-alpha.2",
            "v1.13.0-alpha.1",
            "v2.0.0",
            "garbage",
            "",
        ] {
            assert!(
                !supports_lifecycle_api(tag),
                "{tag} should use the legacy API"
            );
        }
    }
}
