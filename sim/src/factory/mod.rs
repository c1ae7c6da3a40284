//! A simulated Talos Image Factory: schematics with the real ID algorithm (from
//! factory-client), versions, official extensions and overlays per version, and the
//! installer images simulated nodes "install".
//!
//! Like the real factory, the HTTP API answers errors with plain text, serves the JSON
//! lists as `text/plain`, accepts any schematic that parses (extension names are only
//! checked when an image is built) and answers `201` for duplicates.

mod api;
mod catalog;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use factory_client::{Schematic, SchematicId};

pub use catalog::{
    ExtensionService, OfficialExtension, ServiceProgram, default_extensions, default_versions,
};

use crate::http_server::HttpServer;
use crate::{Error, Faults};

/// What the simulated factory offers.
#[derive(Debug, Clone)]
pub struct FactoryOptions {
    /// Talos versions (`v` prefix), ascending.
    pub versions: Vec<String>,
    /// Official extensions, offered for every version.
    pub extensions: Vec<OfficialExtension>,
}

impl Default for FactoryOptions {
    fn default() -> Self {
        Self {
            versions: default_versions(),
            extensions: default_extensions(),
        }
    }
}

/// An extension as it ends up on a node booted from a factory image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledExtension {
    /// Manifest name (`tailscale`), or `schematic` for the factory's pseudo-extension.
    pub name: String,
    /// The extension's version (the schematic ID for the pseudo-extension).
    pub version: String,
    /// Author.
    pub author: String,
    /// Description.
    pub description: String,
    /// The official name (`siderolabs/tailscale`); empty for the pseudo-extension.
    pub official_name: String,
    /// The service the extension ships, if any.
    pub service: Option<ExtensionService>,
}

/// Why an image cannot be built for a schematic and version (the factory answers 4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The schematic ID is unknown to the factory.
    #[error("schematic ID {0:?} not found")]
    SchematicNotFound(String),
    /// The Talos version is not offered.
    #[error("version {0} is not available")]
    VersionNotAvailable(String),
    /// A schematic extension is not offered for the version.
    #[error("official extension {extension:?} is not available for Talos version {version}")]
    ExtensionNotAvailable {
        /// The official extension name.
        extension: String,
        /// The Talos version.
        version: String,
    },
}

/// A handle on the simulated factory; clones share the same store.
///
/// # Usage
///
/// ```no_run
/// # async fn run() -> Result<(), sim::Error> {
/// let factory = sim::factory::ImageFactory::new(Default::default(), sim::Faults::default());
/// let server = factory.serve().await?;
/// println!("factory at {}", server.url());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ImageFactory {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: FactoryOptions,
    faults: Faults,
    schematics: Mutex<BTreeMap<SchematicId, Schematic>>,
}

impl ImageFactory {
    /// Creates the factory with an empty schematic store.
    pub fn new(options: FactoryOptions, faults: Faults) -> Self {
        Self {
            shared: Arc::new(Shared {
                options,
                faults,
                schematics: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Serves the factory HTTP API on a loopback port.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when no port can be bound.
    pub async fn serve(&self) -> Result<HttpServer, Error> {
        HttpServer::start(api::router(self.clone())).await
    }

    /// Stores a schematic (as `POST /schematics` does) and returns its ID.
    pub fn add_schematic(&self, schematic: Schematic) -> SchematicId {
        let id = schematic.id();
        self.store().entry(id).or_insert(schematic);
        id
    }

    /// A stored schematic.
    pub fn schematic(&self, id: &SchematicId) -> Option<Schematic> {
        self.store().get(id).cloned()
    }

    /// The offered Talos versions.
    pub fn versions(&self) -> &[String] {
        &self.shared.options.versions
    }

    /// The extensions a node booted from `schematic_id` at `talos_version` runs, the
    /// `schematic` pseudo-extension last, exactly as the factory builds the image.
    ///
    /// # Errors
    ///
    /// [`ImageError`] when the factory could not build that image.
    pub fn image_extensions(
        &self,
        schematic_id: &SchematicId,
        talos_version: &str,
    ) -> Result<Vec<InstalledExtension>, ImageError> {
        let schematic = self
            .schematic(schematic_id)
            .ok_or_else(|| ImageError::SchematicNotFound(schematic_id.to_string()))?;
        let version = with_v_prefix(talos_version);
        if !self.versions().contains(&version) {
            return Err(ImageError::VersionNotAvailable(version));
        }
        let mut installed = Vec::new();
        for name in schematic.official_extensions() {
            let extension =
                self.official_extension(name)
                    .ok_or_else(|| ImageError::ExtensionNotAvailable {
                        extension: name.clone(),
                        version: version.clone(),
                    })?;
            installed.push(InstalledExtension {
                name: extension.manifest_name.clone(),
                version: extension.version_for(&version),
                author: "Sidero Labs".to_owned(),
                description: extension.description.clone(),
                official_name: extension.name.clone(),
                service: extension.service.clone(),
            });
        }
        installed.push(InstalledExtension {
            name: "schematic".to_owned(),
            version: schematic_id.to_string(),
            author: "Image Factory (sim)".to_owned(),
            description: "Virtual extension which specifies the schematic ID of the image"
                .to_owned(),
            official_name: String::new(),
            service: None,
        });
        Ok(installed)
    }

    fn official_extension(&self, name: &str) -> Option<&OfficialExtension> {
        self.shared
            .options
            .extensions
            .iter()
            .find(|e| e.name == name)
    }

    fn store(&self) -> MutexGuard<'_, BTreeMap<SchematicId, Schematic>> {
        self.shared
            .schematics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// `1.10.4` and `v1.10.4` both become `v1.10.4`.
fn with_v_prefix(version: &str) -> String {
    format!("v{}", version.trim_start_matches('v'))
}
