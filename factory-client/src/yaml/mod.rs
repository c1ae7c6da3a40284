//! Reading YAML the way the factory's YAML library does: node tree and scalar typing.

pub(crate) mod node;
pub(crate) mod resolve;
