//! Talos version tags (`v1.10.4`) and the "skipped minor version" rule.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Talos version tag such as `v1.10.4` (pre-release suffixes allowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TalosVersion(semver::Version);

impl TalosVersion {
    /// Parses `v1.10.4` or `1.10.4`.
    ///
    /// # Errors
    /// A message saying which form is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bare = text.trim().strip_prefix('v').unwrap_or(text.trim());
        semver::Version::parse(bare)
            .map(TalosVersion)
            .map_err(|_| format!("{text:?} is not a Talos version tag like v1.10.4"))
    }

    /// Minor versions skipped going from `self` to `to` (0 for a patch or next-minor step).
    pub fn minors_skipped_to(&self, to: &TalosVersion) -> u64 {
        if to.0.major != self.0.major || to.0.minor <= self.0.minor {
            return 0;
        }
        to.0.minor - self.0.minor - 1
    }

    /// True when `to` is older than `self`.
    pub fn is_downgrade_to(&self, to: &TalosVersion) -> bool {
        to.0 < self.0
    }
}

impl fmt::Display for TalosVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl TryFrom<String> for TalosVersion {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        TalosVersion::parse(&value)
    }
}

impl From<TalosVersion> for String {
    fn from(value: TalosVersion) -> String {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn skipped_minor_versions() {
        let from = TalosVersion::parse("v1.10.4").unwrap();
        assert_eq!(
            from.minors_skipped_to(&TalosVersion::parse("v1.11.0").unwrap()),
            0
        );
        assert_eq!(
            from.minors_skipped_to(&TalosVersion::parse("v1.12.1").unwrap()),
            1
        );
        assert_eq!(
            from.minors_skipped_to(&TalosVersion::parse("v1.10.5").unwrap()),
            0
        );
        assert!(from.is_downgrade_to(&TalosVersion::parse("v1.9.0").unwrap()));
        assert_eq!(from.to_string(), "v1.10.4");
    }
}
