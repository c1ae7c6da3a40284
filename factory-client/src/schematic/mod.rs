//! The schematic model, strict parsing, canonical text and offline ID.

mod decode;
mod diff;
mod edit;
mod error;
mod id;
mod model;
mod natural_order;
mod options;

/// Largest schematic text accepted (1 MiB): real schematics are a few hundred bytes, and the
/// bound keeps a wrong file or an endless stream from being parsed at all. Readers of files
/// and stdin should stop reading one byte past it.
pub const MAX_SCHEMATIC_BYTES: usize = 1 << 20;

pub use diff::SchematicDiff;
pub use edit::SchematicBuilder;
pub use error::SchematicError;
pub use id::SchematicId;
pub use model::{
    Bootloader, Customization, DiskImage, MetaValue, Overlay, Schematic, SecureBoot,
    SystemExtensions,
};
pub use options::{OptionMap, OptionValue};

use crate::Error;
use crate::canonical::{self, VersionDependentString};

impl Schematic {
    /// Parses a schematic from YAML or JSON with the factory's rules: only the first
    /// document is read; unknown fields, duplicate keys, out-of-range META keys and values
    /// of the wrong type are refused with the line and field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchematic`] when the factory would answer 400 for this text, or when
    /// the text uses something whose canonical form this crate does not reproduce (merge
    /// keys, null list items, non-string or multi-line overlay option keys).
    ///
    /// # Usage
    ///
    /// ```
    /// use factory_client::Schematic;
    ///
    /// let schematic = Schematic::from_yaml(
    ///     "customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/tailscale]\n",
    /// )?;
    /// assert_eq!(schematic.official_extensions(), ["siderolabs/tailscale"]);
    /// # Ok::<(), factory_client::Error>(())
    /// ```
    pub fn from_yaml(text: &str) -> Result<Schematic, Error> {
        decode::decode_schematic(text).map_err(Error::InvalidSchematic)
    }

    /// The exact text the factory hashes: fixed key order, omitted empty fields, 4-space
    /// indentation, factory quoting rules, ending with one newline.
    ///
    /// ```
    /// use factory_client::Schematic;
    ///
    /// let schematic = Schematic::builder().kernel_arg("noapic").build();
    /// assert_eq!(schematic.to_canonical_yaml(), "customization:\n    extraKernelArgs:\n        - noapic\n");
    /// ```
    pub fn to_canonical_yaml(&self) -> String {
        canonical::canonical_yaml(self)
    }

    /// The schematic ID the factory assigns: lowercase hex SHA-256 of the canonical text.
    ///
    /// # Caveats
    ///
    /// For a schematic holding a string listed by
    /// [`version_dependent_strings`](Self::version_dependent_strings) the factory's answer
    /// depends on its YAML library build; trust the ID returned by `POST /schematics`.
    pub fn id(&self) -> SchematicId {
        SchematicId::of_canonical_text(&self.to_canonical_yaml())
    }

    /// Strings whose quoting (and so this schematic's ID) differs between factory builds:
    /// YAML 1.1 booleans (`yes`, `off`, `n`, ...), base-60 numbers (`12:30`) and `<<`.
    /// Empty for nearly every real schematic.
    pub fn version_dependent_strings(&self) -> Vec<VersionDependentString> {
        canonical::version_dependent_strings(self)
    }

    /// Whether [`id`](Self::id) may differ from what some factory builds compute.
    pub fn id_is_server_version_dependent(&self) -> bool {
        !self.version_dependent_strings().is_empty()
    }
}
