//! `ExtensionStatuses.runtime.talos.dev`: the system extensions a node booted with, and
//! the schematic ID the Image Factory records among them.

use super::{Resource, resource_kind};
use crate::client::NodeClient;
use crate::error::Error;
use crate::proto::talos::resource::definitions::extensions::Layer;

resource_kind!(
    /// An installed system extension (one squashfs layer); ids are `"0"`, `"1"`, ….
    ExtensionStatus,
    "ExtensionStatuses.runtime.talos.dev",
    "runtime",
    Layer
);

/// Name of the virtual extension the Image Factory adds to record the schematic ID
/// (its version is the ID).
pub const SCHEMATIC_EXTENSION: &str = "schematic";

impl Resource<ExtensionStatus> {
    /// The extension's name, for example `tailscale` (or [`SCHEMATIC_EXTENSION`]).
    pub fn name(&self) -> &str {
        self.spec
            .metadata
            .as_ref()
            .map_or("", |metadata| metadata.name.as_str())
    }

    /// The extension's version (for the schematic entry: the schematic ID).
    pub fn version(&self) -> &str {
        self.spec
            .metadata
            .as_ref()
            .map_or("", |metadata| metadata.version.as_str())
    }

    /// True for the Image Factory's virtual `schematic` entry rather than a real extension.
    pub fn is_schematic(&self) -> bool {
        self.name() == SCHEMATIC_EXTENSION
    }
}

/// The schematic ID recorded among `extensions` (the version of the `schematic` entry),
/// or `None` for an image not built by an Image Factory.
pub fn schematic_id(extensions: &[Resource<ExtensionStatus>]) -> Option<String> {
    extensions
        .iter()
        .find(|extension| extension.is_schematic())
        .map(|extension| extension.version().to_owned())
        .filter(|id| !id.is_empty())
}

impl NodeClient {
    /// The installed extensions, including the virtual `schematic` entry when present.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::list`].
    pub async fn extensions(&self) -> Result<Vec<Resource<ExtensionStatus>>, Error> {
        self.list::<ExtensionStatus>().await
    }

    /// The node's schematic ID from the `schematic` pseudo-extension (works on every Talos
    /// version), or `None` when its image was not built by an Image Factory. A caller that
    /// knows the node's version uses [`NodeClient::schematic_id_for`], which prefers
    /// `ImageFactorySchematics` on Talos 1.14+.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::list`].
    pub async fn schematic_id(&self) -> Result<Option<String>, Error> {
        Ok(schematic_id(&self.extensions().await?))
    }
}
