//! What changed between two schematics: extensions, kernel args, META and the rest.

use super::model::{MetaValue, Schematic};

/// The differences between two schematics, from `self` (old) to `other` (new).
///
/// ```
/// use factory_client::Schematic;
///
/// let current = Schematic::builder().extension("siderolabs/iscsi-tools").build();
/// let target = current.clone().with_extensions(["siderolabs/tailscale"]);
/// let diff = current.diff(&target);
/// assert_eq!(diff.extensions_added, ["siderolabs/tailscale"]);
/// assert!(diff.extensions_removed.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SchematicDiff {
    /// Extensions only in the new schematic.
    pub extensions_added: Vec<String>,
    /// Extensions only in the old schematic.
    pub extensions_removed: Vec<String>,
    /// Same set of extensions in a different order or multiplicity (changes the ID).
    pub extensions_reordered: bool,
    /// Kernel args only in the new schematic.
    pub kernel_args_added: Vec<String>,
    /// Kernel args only in the old schematic.
    pub kernel_args_removed: Vec<String>,
    /// META entries only in the new schematic (or with a new value).
    pub meta_added: Vec<MetaValue>,
    /// META entries only in the old schematic (or with the old value).
    pub meta_removed: Vec<MetaValue>,
    /// Other top-level parts that differ: `owner`, `overlay`, `embeddedMachineConfiguration`,
    /// `bootloader`, `secureboot`, `diskImage`, and `extraKernelArgs`/`meta` order.
    pub other_changes: Vec<&'static str>,
}

impl SchematicDiff {
    /// Whether the two schematics are identical (and so have the same ID).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Schematic {
    /// Compares this (old) schematic with `other` (new).
    pub fn diff(&self, other: &Schematic) -> SchematicDiff {
        let (old, new) = (&self.customization, &other.customization);
        let old_ext = &old.system_extensions.official_extensions;
        let new_ext = &new.system_extensions.official_extensions;
        let extensions_added = missing_from(new_ext, old_ext);
        let extensions_removed = missing_from(old_ext, new_ext);
        let extensions_reordered =
            extensions_added.is_empty() && extensions_removed.is_empty() && old_ext != new_ext;
        let kernel_args_added = missing_from(&new.extra_kernel_args, &old.extra_kernel_args);
        let kernel_args_removed = missing_from(&old.extra_kernel_args, &new.extra_kernel_args);
        let meta_added = missing_from(&new.meta, &old.meta);
        let meta_removed = missing_from(&old.meta, &new.meta);
        let mut other_changes = Vec::new();
        let mut note = |changed: bool, name: &'static str| {
            if changed {
                other_changes.push(name);
            }
        };
        note(self.owner != other.owner, "owner");
        note(self.overlay != other.overlay, "overlay");
        note(
            old.embedded_machine_configuration != new.embedded_machine_configuration,
            "embeddedMachineConfiguration",
        );
        note(
            kernel_args_added.is_empty()
                && kernel_args_removed.is_empty()
                && old.extra_kernel_args != new.extra_kernel_args,
            "extraKernelArgs",
        );
        note(
            meta_added.is_empty() && meta_removed.is_empty() && old.meta != new.meta,
            "meta",
        );
        note(old.bootloader != new.bootloader, "bootloader");
        note(old.secureboot != new.secureboot, "secureboot");
        note(old.disk_image != new.disk_image, "diskImage");
        SchematicDiff {
            extensions_added,
            extensions_removed,
            extensions_reordered,
            kernel_args_added,
            kernel_args_removed,
            meta_added,
            meta_removed,
            other_changes,
        }
    }
}

/// Items of `from` that `other` lacks, in order, without repeats.
fn missing_from<T: Clone + PartialEq>(from: &[T], other: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in from {
        if !other.contains(item) && !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn identical_schematics_have_an_empty_diff() {
        let schematic = Schematic::builder()
            .extension("siderolabs/gvisor")
            .kernel_arg("quiet")
            .build();
        assert!(schematic.diff(&schematic.clone()).is_empty());
    }

    #[test]
    fn reports_reordered_extensions_and_changed_meta() {
        let old = Schematic::builder()
            .extensions(["a/x", "a/y"])
            .meta(10, "one")
            .build();
        let new = Schematic::builder()
            .extensions(["a/y", "a/x"])
            .meta(10, "two")
            .build();
        let diff = old.diff(&new);
        assert!(diff.extensions_reordered);
        assert_eq!(diff.meta_added, [MetaValue::new(10, "two")]);
        assert_eq!(diff.meta_removed, [MetaValue::new(10, "one")]);
        assert!(diff.other_changes.is_empty());
    }

    #[test]
    fn reports_added_and_removed_extensions_in_order() {
        let old = Schematic::builder()
            .extensions(["siderolabs/i915", "siderolabs/mei"])
            .build();
        let new = Schematic::builder()
            .extensions(["siderolabs/i915", "siderolabs/tailscale", "siderolabs/zfs"])
            .build();
        let diff = old.diff(&new);
        assert_eq!(
            diff.extensions_added,
            ["siderolabs/tailscale", "siderolabs/zfs"]
        );
        assert_eq!(diff.extensions_removed, ["siderolabs/mei"]);
        assert!(!diff.extensions_reordered);
        assert!(!diff.is_empty());
    }

    #[test]
    fn reports_kernel_args_and_bootloader() {
        let old = Schematic::builder().kernel_arg("quiet").build();
        let new = Schematic::builder()
            .kernel_arg("net.ifnames=0")
            .bootloader(crate::schematic::Bootloader::SdBoot)
            .build();
        let diff = old.diff(&new);
        assert_eq!(diff.kernel_args_added, ["net.ifnames=0"]);
        assert_eq!(diff.kernel_args_removed, ["quiet"]);
        assert_eq!(diff.other_changes, ["bootloader"]);
    }
}
