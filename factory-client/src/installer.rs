//! Installer image references: `factory.talos.dev/metal-installer/<schematic ID>:v1.11.1`,
//! built for a platform and Talos version, or parsed back into their parts.

use std::fmt;
use std::str::FromStr;

use crate::Error;
use crate::schematic::SchematicId;

/// The platform of the legacy `installer[-secureboot]` image names.
const LEGACY_INSTALLER_PLATFORM: &str = "metal";

/// First Talos minor release whose factory UI names installers `<platform>-installer`.
const UNIFIED_INSTALLER_SINCE: (u64, u64) = (1, 10);

/// A factory installer image reference: `HOST/FLAVOUR/SCHEMATIC_ID:VERSION`.
///
/// ```
/// use factory_client::{InstallerRef, SchematicId};
///
/// let image = InstallerRef::for_platform("factory.talos.dev", "metal", &SchematicId::EMPTY, "1.11.1", false)?;
/// assert_eq!(
///     image.to_string(),
///     "factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.11.1"
/// );
/// let parsed: InstallerRef = image.to_string().parse()?;
/// assert_eq!(parsed, image);
/// assert_eq!(parsed.platform(), Some("metal"));
/// # Ok::<(), factory_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct InstallerRef {
    /// Registry host (and optional path prefix), e.g. `factory.talos.dev`.
    pub host: String,
    /// Image name: `installer`, `installer-secureboot`, `<platform>-installer` or
    /// `<platform>-installer-secureboot`.
    pub flavour: String,
    /// The schematic the installer carries.
    pub schematic_id: SchematicId,
    /// The tag, normally the Talos version with its `v` (`v1.11.1`).
    pub version: String,
}

impl InstallerRef {
    /// The installer for a platform and Talos version: `<platform>-installer` for Talos ≥
    /// 1.10 (any 1.10 pre-release included), the legacy `installer` before; `-secureboot`
    /// appended for SecureBoot. A missing `v` on the version is added.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVersion`] for a version that is not semver, [`Error::InvalidInstallerRef`]
    /// for an empty host or a platform name that is not lowercase letters, digits and dashes.
    pub fn for_platform(
        host: &str,
        platform: &str,
        schematic_id: &SchematicId,
        version: &str,
        secureboot: bool,
    ) -> Result<Self, Error> {
        let (version, parsed) = normalize_version(version)?;
        let invalid = |reason: &str| Error::InvalidInstallerRef {
            input: host.to_owned(),
            reason: reason.to_owned(),
        };
        let host = host.trim_end_matches('/');
        if host.is_empty() || host.contains("://") {
            return Err(invalid(
                "host must be a registry host like factory.talos.dev, without a scheme",
            ));
        }
        if !is_platform_name(platform) {
            return Err(invalid(
                "platform must be lowercase letters, digits and dashes, e.g. metal or aws",
            ));
        }
        let unified = (parsed.major, parsed.minor) >= UNIFIED_INSTALLER_SINCE;
        let base = if unified {
            format!("{platform}-installer")
        } else {
            "installer".to_owned()
        };
        let flavour = if secureboot {
            format!("{base}-secureboot")
        } else {
            base
        };
        Ok(Self {
            host: host.to_owned(),
            flavour,
            schematic_id: *schematic_id,
            version,
        })
    }

    /// Parses `HOST/FLAVOUR/SCHEMATIC_ID:TAG`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInstallerRef`] when the text does not have that shape, the image
    /// name is not an installer, the ID is not 64 lowercase hex digits, or the reference
    /// is pinned by digest instead of a tag.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidInstallerRef {
            input: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.contains('@') {
            return Err(invalid("pinned by digest; use the tag form"));
        }
        let mut segments = text.rsplitn(3, '/');
        let (Some(last), Some(flavour), Some(host)) =
            (segments.next(), segments.next(), segments.next())
        else {
            return Err(invalid("expected three path segments"));
        };
        let Some((id, version)) = last.split_once(':') else {
            return Err(invalid("missing :TAG after the schematic ID"));
        };
        if version.is_empty() || host.is_empty() {
            return Err(invalid("empty host or tag"));
        }
        if split_flavour(flavour).is_none() {
            return Err(invalid(&format!(
                "{flavour:?} is not an installer image name"
            )));
        }
        let schematic_id = id
            .parse()
            .map_err(|_| invalid("the schematic ID is not 64 lowercase hex digits"))?;
        Ok(Self {
            host: host.to_owned(),
            flavour: flavour.to_owned(),
            schematic_id,
            version: version.to_owned(),
        })
    }

    /// The platform in the image name, `None` for the legacy `installer` (metal).
    pub fn platform(&self) -> Option<&str> {
        split_flavour(&self.flavour).and_then(|(platform, _)| platform)
    }

    /// The Image Factory platform the installer is for: the one in the image name, `metal`
    /// for the legacy `installer` (which the factory builds for metal only).
    pub fn factory_platform(&self) -> &str {
        self.platform().unwrap_or(LEGACY_INSTALLER_PLATFORM)
    }

    /// Whether this is a SecureBoot installer.
    pub fn is_secureboot(&self) -> bool {
        split_flavour(&self.flavour).is_some_and(|(_, secureboot)| secureboot)
    }

    /// The same installer and schematic at another tag (for "upgrade, keep the schematic").
    #[must_use]
    pub fn with_version(&self, version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            ..self.clone()
        }
    }

    /// The repository without the tag: `HOST/FLAVOUR/SCHEMATIC_ID`.
    pub fn repository(&self) -> String {
        format!("{}/{}/{}", self.host, self.flavour, self.schematic_id)
    }
}

impl fmt::Display for InstallerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository(), self.version)
    }
}

impl FromStr for InstallerRef {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Splits an installer image name into (platform, secureboot).
fn split_flavour(flavour: &str) -> Option<(Option<&str>, bool)> {
    let (rest, secureboot) = match flavour.strip_suffix("-secureboot") {
        Some(rest) => (rest, true),
        None => (flavour, false),
    };
    if rest == "installer" {
        return Some((None, secureboot));
    }
    let platform = rest.strip_suffix("-installer")?;
    is_platform_name(platform).then_some((Some(platform), secureboot))
}

fn is_platform_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `1.11.1` or `v1.11.1` → (`v1.11.1`, parsed).
pub(crate) fn normalize_version(version: &str) -> Result<(String, semver::Version), Error> {
    let bare = version.trim().strip_prefix('v').unwrap_or(version.trim());
    let parsed = semver::Version::parse(bare).map_err(|_| Error::InvalidVersion {
        input: version.to_owned(),
    })?;
    Ok((format!("v{bare}"), parsed))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn id() -> SchematicId {
        SchematicId::EMPTY
    }

    #[test]
    fn uses_platform_installers_from_talos_1_10() {
        let image =
            InstallerRef::for_platform("factory.talos.dev", "aws", &id(), "v1.10.0", true).unwrap();
        assert_eq!(image.flavour, "aws-installer-secureboot");
        let prerelease = InstallerRef::for_platform(
            "factory.talos.dev",
            "metal",
            &id(),
            "1.10.0-alpha.2",
            false,
        )
        .unwrap();
        assert_eq!(prerelease.flavour, "metal-installer");
        assert_eq!(prerelease.version, "v1.10.0-alpha.2");
    }

    #[test]
    fn uses_the_legacy_installer_before_talos_1_10() {
        let image =
            InstallerRef::for_platform("factory.talos.dev", "metal", &id(), "v1.9.5", false)
                .unwrap();
        assert_eq!(image.flavour, "installer");
        assert_eq!(image.platform(), None);
        let secure =
            InstallerRef::for_platform("factory.talos.dev", "metal", &id(), "1.9.5", true).unwrap();
        assert_eq!(secure.flavour, "installer-secureboot");
        assert!(secure.is_secureboot());
    }

    #[test]
    fn refuses_bad_versions_platforms_and_hosts() {
        assert!(matches!(
            InstallerRef::for_platform("factory.talos.dev", "metal", &id(), "latest", false),
            Err(Error::InvalidVersion { .. })
        ));
        assert!(
            InstallerRef::for_platform("factory.talos.dev", "Metal!", &id(), "1.11.0", false)
                .is_err()
        );
        assert!(
            InstallerRef::for_platform(
                "https://factory.talos.dev",
                "metal",
                &id(),
                "1.11.0",
                false
            )
            .is_err()
        );
    }

    #[test]
    fn parses_every_installer_form() {
        let digital_ocean = format!(
            "factory.talos.dev/digital-ocean-installer-secureboot/{}:v1.11.1",
            id()
        );
        let parsed = InstallerRef::parse(&digital_ocean).unwrap();
        assert_eq!(parsed.platform(), Some("digital-ocean"));
        assert!(parsed.is_secureboot());
        assert_eq!(parsed.to_string(), digital_ocean);
        let legacy =
            InstallerRef::parse(&format!("localhost:5000/prefix/installer/{}:latest", id()))
                .unwrap();
        assert_eq!(legacy.host, "localhost:5000/prefix");
        assert_eq!(legacy.version, "latest");
        assert_eq!(legacy.with_version("v1.12.0").version, "v1.12.0");
    }

    #[test]
    fn reads_platform_and_secureboot_from_every_installer_name() {
        // (image name, factory platform, SecureBoot)
        let table = [
            ("installer", "metal", false),
            ("installer-secureboot", "metal", true),
            ("metal-installer", "metal", false),
            ("metal-installer-secureboot", "metal", true),
            ("aws-installer", "aws", false),
            ("digital-ocean-installer-secureboot", "digital-ocean", true),
        ];
        for (name, platform, secureboot) in table {
            let image = format!("factory.talos.dev/{name}/{}:v1.14.1", id());
            let parsed = InstallerRef::parse(&image).unwrap();
            assert_eq!(parsed.factory_platform(), platform, "{image}");
            assert_eq!(parsed.is_secureboot(), secureboot, "{image}");
            assert_eq!(parsed.host, "factory.talos.dev", "{image}");
        }
    }

    proptest::proptest! {
        #[test]
        fn a_built_installer_parses_back_to_its_platform_and_flavour(
            platform in "[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,8})?",
            secureboot: bool,
            minor in 10u64..20,
        ) {
            let image = InstallerRef::for_platform(
                "factory.example.com:5000/mirror",
                &platform,
                &id(),
                &format!("v1.{minor}.0"),
                secureboot,
            )
            .unwrap();
            let parsed = InstallerRef::parse(&image.to_string()).unwrap();
            proptest::prop_assert_eq!(parsed.factory_platform(), platform.as_str());
            proptest::prop_assert_eq!(parsed.is_secureboot(), secureboot);
            proptest::prop_assert_eq!(parsed.host.as_str(), "factory.example.com:5000/mirror");
        }
    }

    #[test]
    fn refuses_non_installer_references() {
        for bad in [
            "ghcr.io/siderolabs/installer:v1.11.1".to_owned(),
            format!("factory.talos.dev/imager/{}:v1.11.1", id()),
            format!("factory.talos.dev/metal-installer/{}", id()),
            format!("factory.talos.dev/metal-installer/{}@sha256:abc", id()),
            "factory.talos.dev/metal-installer/abc:v1.11.1".to_owned(),
        ] {
            assert!(
                matches!(
                    InstallerRef::parse(&bad),
                    Err(Error::InvalidInstallerRef { .. })
                ),
                "{bad}"
            );
        }
    }
}
