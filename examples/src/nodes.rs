//! Small reads about Talos nodes that several tools share.

use secrecy::ExposeSecret;
use talos_client::NodeClient;
use talos_client::machine_config::{ConfigDocuments, ExtensionServiceConfig};
use talos_client::resources::Nodename;

/// The Kubernetes node name Talos registers for the node (the tailnet device hostname
/// unless `TS_HOSTNAME` says otherwise).
///
/// # Errors
/// When the node does not answer or has no `Nodename` resource yet.
pub async fn hostname(client: &NodeClient) -> anyhow::Result<String> {
    let node = client.node().unwrap_or("the endpoint node").to_owned();
    match client.get::<Nodename>("nodename").await? {
        Some(resource) if !resource.spec.nodename.is_empty() => Ok(resource.spec.nodename),
        _ => anyhow::bail!("node {node} has no Kubernetes node name yet; wait until it has booted"),
    }
}

/// The node's `ExtensionServiceConfig` named `name` from its machine config, if any.
///
/// # Errors
/// When the node does not answer, the certificate may not read the machine config, or the
/// config does not parse.
pub async fn extension_service_config(
    client: &NodeClient,
    name: &str,
) -> anyhow::Result<Option<ExtensionServiceConfig>> {
    let bytes = client.machine_config().await?;
    let documents = ConfigDocuments::parse(bytes.expose_secret())?;
    Ok(documents
        .extension_service_configs()
        .into_iter()
        .find(|esc| esc.name == name))
}
