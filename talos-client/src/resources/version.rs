//! `Versions.runtime.talos.dev`: the running Talos version as a resource.

use super::resource_kind;
use crate::proto::talos::resource::definitions::runtime::VersionSpec;

resource_kind!(
    /// The Talos version (id `version`).
    Version,
    "Versions.runtime.talos.dev",
    "runtime",
    VersionSpec
);
