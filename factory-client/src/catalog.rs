//! A Talos version's official extensions and overlays, and resolving user-friendly names
//! (`tailscale`, old renamed names) to the names a schematic must use.

use serde::Deserialize;

use crate::{Error, Schematic};

/// One entry of `GET /version/:v/extensions/official`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ExtensionInfo {
    /// Repository path without the registry, e.g. `siderolabs/tailscale`; the name to put
    /// in `officialExtensions`.
    pub name: String,
    /// Full tagged reference, e.g. `ghcr.io/siderolabs/tailscale:1.78.1`.
    pub r#ref: String,
    /// Image digest, `sha256:…`.
    pub digest: String,
    /// Author.
    #[serde(default)]
    pub author: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

impl ExtensionInfo {
    /// The repository short name: `tailscale` for `siderolabs/tailscale`.
    pub fn short_name(&self) -> &str {
        short_name(&self.name)
    }
}

/// One entry of `GET /version/:v/overlays/official`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct OverlayInfo {
    /// Overlay name for `overlay.name`, e.g. `rpi_generic`.
    pub name: String,
    /// Repository path for `overlay.image`, e.g. `siderolabs/sbc-raspberrypi`.
    pub image: String,
    /// Full tagged reference.
    pub r#ref: String,
    /// Image digest.
    pub digest: String,
}

/// Old extension names the factory still builds, mapped to their current short names.
/// A schematic keeps the old name (and so its ID); the factory substitutes at build time.
pub const EXTENSION_ALIASES: &[(&str, &str)] = &[
    ("siderolabs/v4l-uvc", "v4l-uvc-drivers"),
    ("siderolabs/usb-modem", "usb-modem-drivers"),
    ("siderolabs/gasket", "gasket-driver"),
    ("siderolabs/talos-vmtoolsd", "vmtoolsd-guest-agent"),
    ("siderolabs/xe-guest-utilities", "xen-guest-agent"),
    (
        "siderolabs/nvidia-container-toolkit",
        "nvidia-container-toolkit-lts",
    ),
    (
        "siderolabs/nvidia-open-gpu-kernel-modules",
        "nvidia-open-gpu-kernel-modules-lts",
    ),
    ("siderolabs/nonfree-kmod-nvidia", "nonfree-kmod-nvidia-lts"),
    (
        "siderolabs/nvidia-fabricmanager",
        "nvidia-fabric-manager-lts",
    ),
    ("siderolabs/i915-ucode", "i915"),
    ("siderolabs/amdgpu-firmware", "amdgpu"),
];

fn short_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// The current name an alias (full `siderolabs/old` or short `old`) stands for in `list`.
fn alias_target<'a>(list: &'a [ExtensionInfo], query: &str) -> Option<&'a ExtensionInfo> {
    let (_, target) = EXTENSION_ALIASES
        .iter()
        .find(|(old, _)| *old == query || short_name(old) == query)?;
    list.iter().find(|ext| ext.short_name() == *target)
}

/// Resolves a user-supplied extension name against a version's list: the exact name, then
/// a unique repository short name (`tailscale`), then the alias table (`i915-ucode` →
/// `siderolabs/i915`), then a reference (`ghcr.io/siderolabs/tailscale:1.2`).
pub(crate) fn resolve_extension_name(
    list: &[ExtensionInfo],
    version: &str,
    query: &str,
) -> Result<String, Error> {
    let query = query.trim();
    if let Some(ext) = list.iter().find(|ext| ext.name == query) {
        return Ok(ext.name.clone());
    }
    let by_short: Vec<&ExtensionInfo> = list
        .iter()
        .filter(|ext| ext.short_name() == query)
        .collect();
    match by_short.as_slice() {
        [only] => return Ok(only.name.clone()),
        [] => {}
        many => {
            return Err(Error::AmbiguousExtension {
                name: query.to_owned(),
                version: version.to_owned(),
                candidates: many.iter().map(|ext| ext.name.clone()).collect(),
            });
        }
    }
    if let Some(ext) = alias_target(list, query) {
        return Ok(ext.name.clone());
    }
    let untagged = query.split_once(':').map_or(query, |(repo, _)| repo);
    if let Some(ext) = list.iter().find(|ext| {
        ext.r#ref
            .split_once(':')
            .is_some_and(|(repo, _)| repo == untagged)
    }) {
        return Ok(ext.name.clone());
    }
    Err(unknown(list, version, query))
}

/// Checks that every extension of the schematic exists for the version (directly or
/// through the alias table), as the factory will when it builds an image.
pub(crate) fn check_schematic_extensions(
    list: &[ExtensionInfo],
    version: &str,
    schematic: &Schematic,
) -> Result<(), Error> {
    for name in schematic.official_extensions() {
        let known = list.iter().any(|ext| ext.name == *name)
            || EXTENSION_ALIASES
                .iter()
                .any(|(old, _)| old == name && alias_target(list, old).is_some());
        if !known {
            return Err(unknown(list, version, name));
        }
    }
    Ok(())
}

/// What can be said offline about a schematic's extension names: a short name (no `org/`)
/// that names no official extension, or an old name the factory substitutes at build time.
/// Whether a full name exists for a Talos version needs the factory's list
/// ([`crate::FactoryClient::create_schematic_for_version`] checks it).
pub fn offline_extension_warnings(schematic: &Schematic) -> Vec<String> {
    let mut warnings = Vec::new();
    for name in schematic.official_extensions() {
        if !name.contains('/') {
            warnings.push(format!(
                "extension {name:?} is a short name: the factory hashes it as written but cannot build an image with it; write the full name, e.g. siderolabs/{name}"
            ));
        } else if let Some((_, current)) = EXTENSION_ALIASES.iter().find(|(old, _)| old == name) {
            warnings.push(format!(
                "extension {name:?} is an old name; the factory builds siderolabs/{current} in its place (the ID keeps the old name)"
            ));
        }
    }
    warnings
}

fn unknown(list: &[ExtensionInfo], version: &str, query: &str) -> Error {
    let needle = short_name(query).to_ascii_lowercase();
    let suggestions = list
        .iter()
        .filter(|ext| {
            !needle.is_empty() && (ext.name.contains(&needle) || needle.contains(ext.short_name()))
        })
        .map(|ext| ext.name.clone())
        .take(5)
        .collect();
    Error::UnknownExtension {
        name: query.to_owned(),
        version: version.to_owned(),
        suggestions,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ext(name: &str) -> ExtensionInfo {
        ExtensionInfo {
            name: name.to_owned(),
            r#ref: format!("ghcr.io/{name}:1.0.0"),
            digest: "sha256:00".to_owned(),
            author: String::new(),
            description: String::new(),
        }
    }

    fn list() -> Vec<ExtensionInfo> {
        [
            "siderolabs/tailscale",
            "siderolabs/i915",
            "siderolabs/iscsi-tools",
            "siderolabs/zfs",
            "other/zfs",
        ]
        .into_iter()
        .map(ext)
        .collect()
    }

    #[test]
    fn resolves_exact_short_alias_and_reference_names() {
        let list = list();
        for (query, expected) in [
            ("siderolabs/tailscale", "siderolabs/tailscale"),
            ("tailscale", "siderolabs/tailscale"),
            ("siderolabs/i915-ucode", "siderolabs/i915"),
            ("i915-ucode", "siderolabs/i915"),
            (
                "ghcr.io/siderolabs/iscsi-tools:9.9",
                "siderolabs/iscsi-tools",
            ),
        ] {
            assert_eq!(
                resolve_extension_name(&list, "v1.11.1", query).unwrap(),
                expected,
                "{query}"
            );
        }
    }

    #[test]
    fn ambiguous_short_names_list_the_candidates() {
        let err = resolve_extension_name(&list(), "v1.11.1", "zfs").unwrap_err();
        assert!(
            matches!(err, Error::AmbiguousExtension { ref candidates, .. } if candidates.len() == 2),
            "{err}"
        );
    }

    #[test]
    fn unknown_names_suggest_close_matches() {
        let err = resolve_extension_name(&list(), "v1.11.1", "iscsi").unwrap_err();
        assert!(err.is_not_found());
        assert!(err.to_string().contains("siderolabs/iscsi-tools"), "{err}");
    }

    #[test]
    fn schematic_check_accepts_aliases_and_rejects_unknown_names() {
        let ok = Schematic::builder()
            .extensions(["siderolabs/tailscale", "siderolabs/i915-ucode"])
            .build();
        check_schematic_extensions(&list(), "v1.11.1", &ok).unwrap();
        let bad = Schematic::builder()
            .extension("siderolabs/tailscal")
            .build();
        let err = check_schematic_extensions(&list(), "v1.11.1", &bad).unwrap_err();
        assert!(
            matches!(err, Error::UnknownExtension { ref name, .. } if name == "siderolabs/tailscal")
        );
    }

    /// The factory looks names up by full repository path and its alias table is keyed by
    /// full old names, so a bare `i915-ucode` in a schematic fails the build: refuse it
    /// before posting (name resolution still turns it into `siderolabs/i915`).
    #[test]
    fn schematic_check_refuses_bare_names_even_when_they_resolve() {
        for bare in ["i915-ucode", "tailscale"] {
            let schematic = Schematic::builder().extension(bare).build();
            let err = check_schematic_extensions(&list(), "v1.11.1", &schematic).unwrap_err();
            assert!(
                matches!(err, Error::UnknownExtension { ref name, .. } if name == bare),
                "{err}"
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod offline_tests {
    use super::*;

    #[test]
    fn short_and_old_names_are_warned_about_offline() {
        let schematic = Schematic::from_yaml(
            "customization: {systemExtensions: {officialExtensions: [tailscale, siderolabs/i915-ucode, siderolabs/iscsi-tools]}}",
        )
        .unwrap();
        let warnings = offline_extension_warnings(&schematic);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("\"tailscale\" is a short name"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("siderolabs/i915 in its place"),
            "{warnings:?}"
        );
    }
}
