//! The node's boot ID: `BootIDs.runtime.talos.dev` on Talos 1.14+, else the kernel file.

use super::resource_kind;
use crate::client::NodeClient;
use crate::error::Error;
use crate::proto::talos::resource::definitions::runtime::BootIdSpec;
use crate::version::has_boot_id_resource;

resource_kind!(
    /// The current boot's ID (id `boot-id`; Talos 1.14+).
    BootId,
    "BootIDs.runtime.talos.dev",
    "runtime",
    BootIdSpec
);

/// The id of the one `BootIDs` resource.
const BOOT_ID: &str = "boot-id";

/// The kernel file holding the boot ID (reading it needs `os:admin`).
pub(crate) const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

impl NodeClient {
    /// The ID of the node's current boot; it changes on every reboot.
    ///
    /// Reads the node's version first; a caller that knows it calls
    /// [`NodeClient::boot_id_for`] and saves that round trip.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::version`] and [`NodeClient::boot_id_for`].
    pub async fn boot_id(&self) -> Result<String, Error> {
        let version = self.version().await?;
        self.boot_id_for(&version.tag).await
    }

    /// The ID of the node's current boot on a node running `version` (its tag, `v1.14.1`).
    ///
    /// Talos 1.14+ ([`has_boot_id_resource`]): the `BootIDs` resource, readable with any
    /// role. Older nodes do not have that type, so their boot ID is read straight from
    /// `/proc/sys/kernel/random/boot_id` (needs `os:admin`) without asking for it. A node
    /// whose version was newer than it now is (downgraded since `version` was read)
    /// refuses the resource; the kernel file is read then too.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] when the kernel file is needed and the certificate is
    /// not admin; transport errors.
    pub async fn boot_id_for(&self, version: &str) -> Result<String, Error> {
        if has_boot_id_resource(version) {
            match self.get::<BootId>(BOOT_ID).await {
                Ok(Some(resource)) if !resource.spec.boot_id.is_empty() => {
                    return Ok(resource.spec.boot_id);
                }
                Ok(_) => {}
                Err(error) if error.is_permission_denied() || error.is_unimplemented() => {}
                Err(error) => return Err(error),
            }
        }
        let bytes = self.read(BOOT_ID_PATH).await?;
        Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
    }
}
