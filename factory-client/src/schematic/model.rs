//! The schematic data model of image-factory v1.5.0: every field, in serialization order.

use std::fmt;
use std::str::FromStr;

use super::SchematicError;
use super::options::OptionMap;

/// A factory schematic: an overlay plus customizations. Its [`id`](Self::id) names every
/// image the factory builds from it.
///
/// Empty strings, empty lists, `false` and `0` mean "not set" and are left out of the
/// canonical text, exactly as the factory does.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Schematic {
    /// Enterprise-only owner; must stay empty for the community factory.
    pub owner: String,
    /// Board overlay (SBCs).
    pub overlay: Overlay,
    /// Kernel args, META, extensions, bootloader, SecureBoot and disk-image settings.
    pub customization: Customization,
}

/// `overlay`: a board support image plus free-form options.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Overlay {
    /// Repository path of the overlay image, e.g. `siderolabs/sbc-raspberrypi`.
    pub image: String,
    /// Overlay name from the version's overlay list, e.g. `rpi_generic`.
    pub name: String,
    /// Free-form options passed to the overlay installer.
    pub options: OptionMap,
}

impl Overlay {
    /// An overlay with an image and a name and no options.
    pub fn new(image: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            image: image.into(),
            name: name.into(),
            options: OptionMap::new(),
        }
    }

    /// Whether nothing is set (the overlay is then omitted).
    pub fn is_empty(&self) -> bool {
        self.image.is_empty() && self.name.is_empty() && self.options.is_empty()
    }
}

/// `customization`: always present in the canonical text (`customization: {}` when empty).
///
/// `Debug` shows only the length of the embedded machine configuration: a Talos machine
/// config can hold keys and tokens, and `Debug` output ends up in logs.
#[derive(Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Customization {
    /// Multi-document Talos machine configuration embedded in the image (Talos ≥ 1.12).
    pub embedded_machine_configuration: String,
    /// Extra kernel command-line arguments, in order.
    pub extra_kernel_args: Vec<String>,
    /// Talos META values written into the image.
    pub meta: Vec<MetaValue>,
    /// System extensions.
    pub system_extensions: SystemExtensions,
    /// Bootloader choice; [`Bootloader::None`] means "let Talos decide".
    pub bootloader: Bootloader,
    /// SecureBoot settings.
    pub secureboot: SecureBoot,
    /// Disk-image settings.
    pub disk_image: DiskImage,
}

impl fmt::Debug for Customization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let embedded = format!(
            "<{} bytes redacted>",
            self.embedded_machine_configuration.len()
        );
        f.debug_struct("Customization")
            .field(
                "embedded_machine_configuration",
                &format_args!("{embedded}"),
            )
            .field("extra_kernel_args", &self.extra_kernel_args)
            .field("meta", &self.meta)
            .field("system_extensions", &self.system_extensions)
            .field("bootloader", &self.bootloader)
            .field("secureboot", &self.secureboot)
            .field("disk_image", &self.disk_image)
            .finish()
    }
}

/// One META entry: a key 0..=255 and a string value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MetaValue {
    /// META key, e.g. `0x0a` (10) for network configuration.
    pub key: u8,
    /// The value (JSON, YAML or plain text).
    pub value: String,
}

impl MetaValue {
    /// A META entry.
    pub fn new(key: u8, value: impl Into<String>) -> Self {
        Self {
            key,
            value: value.into(),
        }
    }
}

/// `systemExtensions`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SystemExtensions {
    /// Official extension names such as `siderolabs/tailscale`, in order (order and
    /// duplicates change the ID).
    pub official_extensions: Vec<String>,
}

/// `secureboot`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SecureBoot {
    /// Key enrollment mode (`off`, `manual`, `if-safe`, `force`); checked only at build time.
    pub enroll_keys: String,
    /// Include well-known UEFI certificates.
    pub include_well_known_certificates: bool,
}

/// `diskImage`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DiskImage {
    /// Sector size in bytes; 0 means 512.
    pub sector_size: u64,
}

/// `customization.bootloader` (case-insensitive on input; `auto` is not accepted by the
/// factory API — leave the bootloader unset instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Bootloader {
    /// Not set; Talos picks the default.
    #[default]
    None,
    /// GRUB and systemd-boot side by side.
    DualBoot,
    /// systemd-boot.
    SdBoot,
    /// GRUB.
    Grub,
}

impl Bootloader {
    /// The canonical spelling (`none`, `dual-boot`, `sd-boot`, `grub`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::DualBoot => "dual-boot",
            Self::SdBoot => "sd-boot",
            Self::Grub => "grub",
        }
    }
}

impl fmt::Display for Bootloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Bootloader {
    type Err = SchematicError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "dual-boot" => Ok(Self::DualBoot),
            "sd-boot" => Ok(Self::SdBoot),
            "grub" => Ok(Self::Grub),
            _ => Err(SchematicError::new(format!(
                "{text} is not a bootloader; use none, dual-boot, sd-boot or grub (omit the field for auto)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_embedded_machine_configuration() {
        let customization = Customization {
            embedded_machine_configuration: "machine:\n  token: s3cr3t\n".to_owned(),
            extra_kernel_args: vec!["quiet".to_owned()],
            ..Customization::default()
        };
        let debug = format!("{customization:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("<25 bytes redacted>"), "{debug}");
        assert!(debug.contains("quiet"), "{debug}");
    }
}
