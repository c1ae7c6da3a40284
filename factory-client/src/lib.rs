//! Talos Image Factory client: schematics, byte-exact offline schematic IDs, versions,
//! extensions and installer image references.
//!
//! - [`Schematic`] parses schematic YAML/JSON with the factory's rules, writes the
//!   canonical text ([`Schematic::to_canonical_yaml`]) and computes the ID offline
//!   ([`Schematic::id`]) exactly as the factory does.
//! - [`FactoryClient`] talks to a factory: create and fetch schematics, list versions,
//!   official extensions and overlays, resolve extension names.
//! - [`InstallerRef`] builds and parses installer image references.
//!
//! ```
//! use factory_client::Schematic;
//!
//! let schematic = Schematic::from_yaml("customization: {}")?;
//! assert_eq!(
//!     schematic.id().to_string(),
//!     "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
//! );
//! # Ok::<(), factory_client::Error>(())
//! ```

mod canonical;
mod catalog;
mod client;
mod error;
mod installer;
pub mod schematic;
mod yaml;

pub use canonical::VersionDependentString;
pub use catalog::{EXTENSION_ALIASES, ExtensionInfo, OverlayInfo, offline_extension_warnings};
pub use client::{
    Backoff, CreateWarning, CreatedSchematic, DEFAULT_FACTORY_URL, DEFAULT_RETRY, FactoryClient,
    FactoryClientBuilder, OnIdMismatch,
};
pub use error::Error;
pub use installer::InstallerRef;
pub use schematic::{Schematic, SchematicError, SchematicId};
