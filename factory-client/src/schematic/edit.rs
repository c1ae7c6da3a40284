//! Editing helpers: extensions added in order without duplicates, UI-style sorting, and a
//! builder for schematics made in code.

use super::model::{Bootloader, MetaValue, Overlay, Schematic};
use super::options::OptionValue;

impl Schematic {
    /// The official extensions, in order.
    pub fn official_extensions(&self) -> &[String] {
        &self.customization.system_extensions.official_extensions
    }

    /// Appends an extension unless it is already listed; returns whether it was added.
    pub fn add_extension(&mut self, name: impl Into<String>) -> bool {
        let name = name.into();
        let list = &mut self.customization.system_extensions.official_extensions;
        if list.contains(&name) {
            return false;
        }
        list.push(name);
        true
    }

    /// Appends each extension that is not listed yet, keeping the existing order.
    #[must_use]
    pub fn with_extensions<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for name in names {
            self.add_extension(name);
        }
        self
    }

    /// Removes an extension; returns whether it was listed.
    pub fn remove_extension(&mut self, name: &str) -> bool {
        let list = &mut self.customization.system_extensions.official_extensions;
        let before = list.len();
        list.retain(|existing| existing != name);
        list.len() != before
    }

    /// Sorts extensions by byte order, as the factory web UI does, so that the ID matches a
    /// schematic made there.
    pub fn sort_extensions(&mut self) {
        self.customization
            .system_extensions
            .official_extensions
            .sort();
    }

    /// Starts a builder.
    pub fn builder() -> SchematicBuilder {
        SchematicBuilder::default()
    }
}

/// Builds a [`Schematic`] in code.
///
/// ```
/// use factory_client::Schematic;
///
/// let schematic = Schematic::builder()
///     .kernel_arg("net.ifnames=0")
///     .extension("siderolabs/tailscale")
///     .build();
/// assert_eq!(
///     schematic.id().to_string(),
///     "104c23dfe7c5bfeff6a4cc7e166d8b3bba0f371760592c7677c90c822bb1d109"
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct SchematicBuilder {
    schematic: Schematic,
}

impl SchematicBuilder {
    /// Adds an official extension (ignored if already present).
    #[must_use]
    pub fn extension(mut self, name: impl Into<String>) -> Self {
        self.schematic.add_extension(name);
        self
    }

    /// Adds several official extensions, skipping duplicates.
    #[must_use]
    pub fn extensions<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            schematic: self.schematic.with_extensions(names),
        }
    }

    /// Appends a kernel argument.
    #[must_use]
    pub fn kernel_arg(mut self, arg: impl Into<String>) -> Self {
        self.schematic
            .customization
            .extra_kernel_args
            .push(arg.into());
        self
    }

    /// Appends a META entry.
    #[must_use]
    pub fn meta(mut self, key: u8, value: impl Into<String>) -> Self {
        self.schematic
            .customization
            .meta
            .push(MetaValue::new(key, value));
        self
    }

    /// Sets the overlay image and name.
    #[must_use]
    pub fn overlay(mut self, image: impl Into<String>, name: impl Into<String>) -> Self {
        let options = std::mem::take(&mut self.schematic.overlay.options);
        self.schematic.overlay = Overlay {
            options,
            ..Overlay::new(image, name)
        };
        self
    }

    /// Sets one overlay option.
    #[must_use]
    pub fn overlay_option(mut self, key: impl Into<String>, value: impl Into<OptionValue>) -> Self {
        self.schematic.overlay.options.insert(key, value);
        self
    }

    /// Sets the bootloader.
    #[must_use]
    pub fn bootloader(mut self, bootloader: Bootloader) -> Self {
        self.schematic.customization.bootloader = bootloader;
        self
    }

    /// Sets the SecureBoot key enrollment mode.
    #[must_use]
    pub fn secureboot_enroll_keys(mut self, mode: impl Into<String>) -> Self {
        self.schematic.customization.secureboot.enroll_keys = mode.into();
        self
    }

    /// Includes well-known UEFI certificates.
    #[must_use]
    pub fn include_well_known_certificates(mut self, include: bool) -> Self {
        self.schematic
            .customization
            .secureboot
            .include_well_known_certificates = include;
        self
    }

    /// Sets the disk-image sector size.
    #[must_use]
    pub fn sector_size(mut self, bytes: u64) -> Self {
        self.schematic.customization.disk_image.sector_size = bytes;
        self
    }

    /// Embeds a Talos machine configuration (Talos ≥ 1.12).
    #[must_use]
    pub fn embedded_machine_configuration(mut self, config: impl Into<String>) -> Self {
        self.schematic.customization.embedded_machine_configuration = config.into();
        self
    }

    /// The schematic.
    pub fn build(self) -> Schematic {
        self.schematic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_appended_in_order_without_duplicates() {
        let mut schematic = Schematic::builder()
            .extensions(["siderolabs/i915", "siderolabs/mei", "siderolabs/i915"])
            .build();
        assert_eq!(
            schematic.official_extensions(),
            ["siderolabs/i915", "siderolabs/mei"]
        );
        assert!(schematic.add_extension("siderolabs/tailscale"));
        assert!(!schematic.add_extension("siderolabs/mei"));
        assert_eq!(
            schematic.official_extensions(),
            ["siderolabs/i915", "siderolabs/mei", "siderolabs/tailscale"]
        );
        assert!(schematic.remove_extension("siderolabs/mei"));
        assert!(!schematic.remove_extension("siderolabs/mei"));
        assert_eq!(
            schematic.official_extensions(),
            ["siderolabs/i915", "siderolabs/tailscale"]
        );
    }

    /// The UI sorts with Go's byte-wise string order: upper case before lower case, and
    /// two orders of the same extensions then hash to one ID.
    #[test]
    fn sorting_uses_byte_order_and_makes_the_ui_id() {
        let mut unsorted = Schematic::builder()
            .extensions([
                "siderolabs/util-linux-tools",
                "siderolabs/iscsi-tools",
                "Z/upper",
            ])
            .build();
        let sorted = Schematic::builder()
            .extensions([
                "Z/upper",
                "siderolabs/iscsi-tools",
                "siderolabs/util-linux-tools",
            ])
            .build();
        assert_ne!(unsorted.id(), sorted.id());
        unsorted.sort_extensions();
        assert_eq!(unsorted.official_extensions(), sorted.official_extensions());
        assert_eq!(unsorted.id(), sorted.id());
    }
}
