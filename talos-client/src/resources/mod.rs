//! COSI resources (what `talosctl get` reads): get, list and watch with typed specs, and
//! a raw form for any resource type.
//!
//! A resource kind is a marker type implementing [`ResourceKind`] (type string, namespace
//! and spec message); [`Resource<K>`] is one decoded resource of that kind.

mod boot_id;
mod extension_service_config;
mod extension_status;
mod image_factory_schematic;
mod kernel_param;
mod kubernetes;
mod machine_config;
mod machine_status;
mod service;
mod state;
mod version;

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

pub use boot_id::BootId;
pub use extension_service_config::{ExtensionServiceConfig, ExtensionServiceConfigStatus};
pub use extension_status::{ExtensionStatus, SCHEMATIC_EXTENSION, schematic_id};
pub use image_factory_schematic::{ImageFactorySchematic, reported_schematic_id};
pub use kernel_param::KernelParamStatus;
pub use kubernetes::{NodeStatus, Nodename};
pub use machine_config::MachineConfig;
pub use machine_status::MachineStatus;
pub use service::Service;
pub use version::Version;

use crate::error::Error;
use crate::identity::{Role, required_roles_to_read};
use crate::proto::cosi::resource as wire;

/// A COSI resource type this crate decodes.
pub trait ResourceKind {
    /// The canonical type string, for example `ExtensionStatuses.runtime.talos.dev`.
    const TYPE: &'static str;
    /// The namespace the resources live in, for example `runtime`.
    const NAMESPACE: &'static str;
    /// The protobuf message of the spec (`proto_spec`).
    type Spec: prost::Message + fmt::Debug + Default + Clone + PartialEq + Send + 'static;
    /// The spec holds secrets (keys, tokens, auth keys): `Debug` does not show it.
    const SENSITIVE: bool = false;
}

/// Declares a marker type implementing [`ResourceKind`]; `sensitive` marks specs holding secrets.
macro_rules! resource_kind {
    ($(#[$doc:meta])* $name:ident, $type:literal, $namespace:literal, $spec:ty $(, $sensitive:ident)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;

        impl $crate::resources::ResourceKind for $name {
            const TYPE: &'static str = $type;
            const NAMESPACE: &'static str = $namespace;
            type Spec = $spec;
            $(const SENSITIVE: bool = resource_kind!(@$sensitive);)?
        }
    };
    (@sensitive) => {
        true
    };
}
use resource_kind;

/// Identity and bookkeeping of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceMetadata {
    /// Namespace, for example `runtime`.
    pub namespace: String,
    /// Type string, for example `MachineStatuses.runtime.talos.dev`.
    pub resource_type: String,
    /// Resource id, for example `machine`.
    pub id: String,
    /// Version, increased on every change (decimal).
    pub version: String,
    /// Controller owning the resource.
    pub owner: String,
    /// `running` or `tearingDown`.
    pub phase: String,
    /// Creation time.
    pub created: Option<SystemTime>,
    /// Last update time.
    pub updated: Option<SystemTime>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// A resource of any type, with its spec undecoded.
///
/// `Debug` hides the spec of types that need `os:admin` to read (they hold secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct RawResource {
    /// Identity and bookkeeping.
    pub metadata: ResourceMetadata,
    /// The spec as protobuf bytes.
    pub proto_spec: Vec<u8>,
    /// The spec as YAML (camelCase keys).
    pub yaml_spec: String,
}

/// A resource of kind `K` with its decoded spec.
///
/// `Debug` hides the spec of [sensitive](ResourceKind::SENSITIVE) kinds.
#[derive(Clone, PartialEq)]
pub struct Resource<K: ResourceKind> {
    /// Identity and bookkeeping.
    pub metadata: ResourceMetadata,
    /// The decoded spec.
    pub spec: K::Spec,
}

impl<K: ResourceKind> Resource<K> {
    /// Decodes the spec of a raw resource as `K::Spec`.
    ///
    /// # Errors
    ///
    /// [`Error::DecodeSpec`] when the bytes are not a valid `K::Spec`.
    pub fn from_raw(raw: RawResource) -> Result<Self, Error> {
        let spec =
            <K::Spec as prost::Message>::decode(raw.proto_spec.as_slice()).map_err(|err| {
                Error::DecodeSpec {
                    resource_type: raw.metadata.resource_type.clone(),
                    id: raw.metadata.id.clone(),
                    detail: err.to_string(),
                }
            })?;
        Ok(Self {
            metadata: raw.metadata,
            spec,
        })
    }
}

/// Stands in for a spec in `Debug` output.
const REDACTED: &str = "[redacted: may hold secrets]";

impl<K: ResourceKind> fmt::Debug for Resource<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Resource");
        debug.field("metadata", &self.metadata);
        if K::SENSITIVE {
            debug.field("spec", &REDACTED);
        } else {
            debug.field("spec", &self.spec);
        }
        debug.finish()
    }
}

impl fmt::Debug for RawResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RawResource");
        debug.field("metadata", &self.metadata);
        if required_roles_to_read(&self.metadata.resource_type) == [Role::Admin] {
            debug.field("proto_spec", &REDACTED);
            debug.field("yaml_spec", &REDACTED);
        } else {
            debug.field("proto_spec", &self.proto_spec);
            debug.field("yaml_spec", &self.yaml_spec);
        }
        debug.finish()
    }
}

/// A change reported by a watch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WatchEvent<R> {
    /// A resource appeared (or exists at the start of a kind watch).
    Created(R),
    /// A resource changed.
    Updated {
        /// The previous state, when the node sent it.
        old: Option<R>,
        /// The new state.
        new: R,
    },
    /// A resource was removed; its last state.
    Destroyed(R),
    /// The initial contents of a kind watch have all been sent.
    Bootstrapped,
    /// The node reported a watch error; the watch should be restarted.
    Errored(String),
}

impl<R> WatchEvent<R> {
    fn try_map<T>(
        self,
        mut map: impl FnMut(R) -> Result<T, Error>,
    ) -> Result<WatchEvent<T>, Error> {
        Ok(match self {
            Self::Created(resource) => WatchEvent::Created(map(resource)?),
            Self::Updated { old, new } => WatchEvent::Updated {
                old: old.map(&mut map).transpose()?,
                new: map(new)?,
            },
            Self::Destroyed(resource) => WatchEvent::Destroyed(map(resource)?),
            Self::Bootstrapped => WatchEvent::Bootstrapped,
            Self::Errored(message) => WatchEvent::Errored(message),
        })
    }
}

impl RawResource {
    /// A resource as the COSI `State` service sends it (one `List` or `Watch` message's
    /// resource), its spec left undecoded.
    pub fn from_wire(resource: wire::Resource) -> Self {
        let metadata = resource.metadata.unwrap_or_default();
        let spec = resource.spec.unwrap_or_default();
        Self {
            metadata: ResourceMetadata {
                namespace: metadata.namespace,
                resource_type: metadata.r#type,
                id: metadata.id,
                version: metadata.version,
                owner: metadata.owner,
                phase: metadata.phase,
                created: metadata
                    .created
                    .and_then(|time| SystemTime::try_from(time).ok()),
                updated: metadata
                    .updated
                    .and_then(|time| SystemTime::try_from(time).ok()),
                labels: metadata.labels.into_iter().collect(),
                annotations: metadata.annotations.into_iter().collect(),
            },
            proto_spec: spec.proto_spec,
            yaml_spec: spec.yaml_spec,
        }
    }
}
