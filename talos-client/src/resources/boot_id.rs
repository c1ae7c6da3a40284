//! The node's boot ID: `BootIDs.runtime.talos.dev` on Talos 1.14+, else the kernel file.

use super::resource_kind;
use crate::client::NodeClient;
use crate::error::Error;
use crate::proto::talos::resource::definitions::runtime::BootIdSpec;

resource_kind!(
    /// The current boot's ID (id `boot-id`; Talos 1.14+).
    BootId,
    "BootIDs.runtime.talos.dev",
    "runtime",
    BootIdSpec
);

/// The kernel file holding the boot ID (reading it needs `os:admin`).
pub(crate) const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

impl NodeClient {
    /// The ID of the node's current boot; it changes on every reboot.
    ///
    /// Reads the `BootIDs` resource; on nodes that do not have it (before Talos 1.14: the
    /// type is unregistered, which Talos reports as permission denied) falls back to
    /// reading `/proc/sys/kernel/random/boot_id`, which needs `os:admin`.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] when the fallback is needed and the certificate is not
    /// admin; transport errors.
    pub async fn boot_id(&self) -> Result<String, Error> {
        match self.get::<BootId>("boot-id").await {
            Ok(Some(resource)) if !resource.spec.boot_id.is_empty() => {
                return Ok(resource.spec.boot_id);
            }
            Ok(_) => {}
            Err(error) if error.is_permission_denied() || error.is_unimplemented() => {}
            Err(error) => return Err(error),
        }
        let bytes = self.read(BOOT_ID_PATH).await?;
        Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
    }
}
