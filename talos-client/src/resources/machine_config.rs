//! `MachineConfigs.config.talos.dev`: the node's machine configuration, byte for byte.

use secrecy::SecretSlice;

use super::{Resource, resource_kind};
use crate::client::NodeClient;
use crate::error::{CallTarget, Code, Error};
use crate::methods;
use crate::proto::resource::config::MachineConfigSpec;

resource_kind!(
    /// The machine configuration (sensitive: reading needs `os:admin`). Id `v1alpha1` is
    /// the active configuration, `persistent` the one on disk.
    MachineConfig,
    "MachineConfigs.config.talos.dev",
    "config",
    MachineConfigSpec,
    sensitive
);

/// Id of the active machine configuration.
const ACTIVE_ID: &str = "v1alpha1";

impl Resource<MachineConfig> {
    /// The exact configuration bytes the node holds (multi-document YAML).
    pub fn config_bytes(&self) -> &[u8] {
        &self.spec.yaml_marshalled
    }
}

impl NodeClient {
    /// The node's active machine configuration, exactly as stored (for backups and edits).
    /// It holds cluster secrets, hence the secret wrapper: `expose_secret()` gives the bytes.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without `os:admin`; [`Error::Api`] with `NotFound` when
    /// the node has no configuration (maintenance mode).
    pub async fn machine_config(&self) -> Result<SecretSlice<u8>, Error> {
        match self.get::<MachineConfig>(ACTIVE_ID).await? {
            Some(config) => Ok(SecretSlice::from(config.spec.yaml_marshalled)),
            None => Err(Error::Api {
                target: CallTarget {
                    method: methods::RESOURCE_GET,
                    node: self.node().map(str::to_owned),
                },
                code: Code::NotFound,
                message:
                    "the node has no active machine configuration (is it in maintenance mode?)"
                        .to_owned(),
            }),
        }
    }

    /// The `ExtensionServiceConfig` document named `name` in the active machine
    /// configuration, if there is one (it may hold secrets such as auth keys).
    ///
    /// # Errors
    /// As [`NodeClient::machine_config`]; [`Error::MachineConfig`] when the configuration
    /// does not parse.
    pub async fn extension_service_config(
        &self,
        name: &str,
    ) -> Result<Option<crate::machine_config::ExtensionServiceConfig>, Error> {
        use secrecy::ExposeSecret as _;
        let config = self.machine_config().await?;
        let documents = crate::machine_config::ConfigDocuments::parse(config.expose_secret())?;
        Ok(documents
            .extension_service_configs()
            .into_iter()
            .find(|esc| esc.name == name))
    }
}
