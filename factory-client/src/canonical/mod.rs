//! Canonical serialization: the exact bytes the factory hashes to name a schematic.
//!
//! Start at [`tree`] (the schema: field order and omitempty), then [`scalar`] (which style
//! each string gets) and [`writer`] (layout). Quoting follows gopkg.in/yaml.v3 and go-yaml
//! v4 up to rc.4, which agree byte for byte; strings whose quoting changed in later v4
//! builds are reported by [`dependence`]. Where every v4 build (all factories since
//! v0.9.0) differs from yaml.v3, v4 wins: `<<` is double-quoted and whitespace-only
//! multi-line strings are double-quoted instead of written as literal blocks.

mod dependence;
mod float;
mod scalar;
mod tree;
mod writer;

pub use dependence::VersionDependentString;

use crate::schematic::Schematic;

/// The canonical YAML text of a schematic.
pub(crate) fn canonical_yaml(schematic: &Schematic) -> String {
    writer::write_document(&tree::schematic_doc(schematic))
}

/// Strings in the schematic whose quoting depends on the factory's YAML library version.
pub(crate) fn version_dependent_strings(schematic: &Schematic) -> Vec<VersionDependentString> {
    dependence::version_dependent_strings(&tree::schematic_doc(schematic))
}
