//! Bounds every parser of the SDK applies to untrusted text.

/// Deepest nesting of collections (mappings, sequences, objects, arrays) a parser accepts,
/// so that hostile or corrupt input fails with an error instead of exhausting the stack.
pub const MAX_NESTING: usize = 128;
