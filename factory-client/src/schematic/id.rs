//! Schematic IDs: 64 lowercase hex digits, the SHA-256 of the canonical text.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::Error;

/// A schematic ID, e.g. `376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba`
/// for the empty schematic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchematicId([u8; 32]);

impl SchematicId {
    /// The ID of the empty schematic (`customization: {}`): plain Talos plus nothing.
    pub const EMPTY: SchematicId = SchematicId([
        0x37, 0x65, 0x67, 0x98, 0x8a, 0xd3, 0x70, 0x13, 0x8a, 0xd8, 0xb2, 0x69, 0x82, 0x12, 0x36,
        0x7b, 0x8e, 0xdc, 0xb6, 0x9b, 0x5f, 0xd6, 0x8c, 0x80, 0xbe, 0x1f, 0x2e, 0xc7, 0xd6, 0x03,
        0xb4, 0xba,
    ]);

    /// The ID of a canonical text: its SHA-256.
    pub(crate) fn of_canonical_text(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for SchematicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for SchematicId {
    type Err = Error;

    /// Parses 64 lowercase hex digits (uppercase is refused: the factory only knows the
    /// lowercase form).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || Error::InvalidSchematicId {
            input: text.chars().take(80).collect(),
        };
        if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid());
        }
        let mut bytes = [0_u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| invalid())?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_constant_is_the_hash_of_the_empty_canonical_text() {
        assert_eq!(
            SchematicId::of_canonical_text("customization: {}\n"),
            SchematicId::EMPTY
        );
    }

    #[test]
    fn round_trips_through_text() {
        let text = SchematicId::EMPTY.to_string();
        assert_eq!(text.parse::<SchematicId>().unwrap(), SchematicId::EMPTY);
    }

    #[test]
    fn refuses_wrong_length_uppercase_and_non_hex() {
        let upper = SchematicId::EMPTY.to_string().to_uppercase();
        for bad in ["", "abc", upper.as_str(), &"g".repeat(64)] {
            assert!(bad.parse::<SchematicId>().is_err(), "{bad}");
        }
    }
}
