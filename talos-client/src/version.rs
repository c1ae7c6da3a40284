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

#[cfg(test)]
mod tests {
    use super::supports_lifecycle_api;

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
