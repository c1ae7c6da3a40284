//! Installer images a simulated node can pull: factory installers for schematics the sim
//! factory knows, and plain `ghcr.io/siderolabs/installer` images (no extensions).

use factory_client::InstallerRef;

use super::cluster::ClusterContext;
use super::node::BootEntry;

const PLAIN_INSTALLER: &str = "ghcr.io/siderolabs/installer:";

/// Resolves an installer reference to what it would boot, as a pull would.
///
/// # Errors
///
/// The pull failure text when the image does not exist (unknown schematic, version not
/// offered, extension not available for the version, not an installer).
pub(crate) fn resolve(ctx: &ClusterContext, image: &str) -> Result<BootEntry, String> {
    if let Some(tag) = image.strip_prefix(PLAIN_INSTALLER) {
        if !ctx.factory.versions().iter().any(|v| v == tag) {
            return Err(format!(
                "failed to resolve reference {image:?}: {image}: not found"
            ));
        }
        return Ok(BootEntry {
            version: tag.to_owned(),
            image: image.to_owned(),
            schematic: None,
        });
    }
    let reference = InstallerRef::parse(image)
        .map_err(|e| format!("failed to resolve reference {image:?}: {e}"))?;
    ctx.factory
        .image_extensions(&reference.schematic_id, &reference.version)
        .map_err(|e| format!("failed to resolve reference {image:?}: {e}"))?;
    Ok(BootEntry {
        version: reference.version,
        image: image.to_owned(),
        schematic: Some(reference.schematic_id),
    })
}
