//! Adapters over `factory-client`: the offline [`SchematicResolver`] and the [`FactoryPort`].

use std::str::FromStr;

use async_trait::async_trait;
use factory_client::{FactoryClient, InstallerRef, Schematic, SchematicId};

use rollout_core::plan::{ResolvedSchematic, SchematicRequest, SchematicResolver};
use rollout_core::{PortError, PortErrorKind};

use crate::ports::FactoryPort;
use rollout_core::version::TalosVersion;

fn resolution(reason: impl std::fmt::Display) -> rollout_core::Error {
    rollout_core::Error::SchematicResolution {
        reason: reason.to_string(),
    }
}

/// Computes schematic IDs and installer references offline, exactly as the Image Factory does.
#[derive(Debug, Clone, Copy, Default)]
pub struct FactoryResolver;

impl SchematicResolver for FactoryResolver {
    fn resolve(&self, request: &SchematicRequest<'_>) -> rollout_core::Result<ResolvedSchematic> {
        let schematic = match request {
            SchematicRequest::Extend {
                current_yaml,
                current_extensions,
                add,
            } => {
                let mut schematic = match current_yaml {
                    Some(yaml) => Schematic::from_yaml(yaml).map_err(resolution)?,
                    None => Schematic::builder()
                        .extensions(current_extensions.iter())
                        .build(),
                };
                for extension in add.iter() {
                    schematic.add_extension(extension.clone());
                }
                schematic
            }
            SchematicRequest::Replace { yaml } => Schematic::from_yaml(yaml).map_err(resolution)?,
        };
        Ok(ResolvedSchematic {
            id: schematic.id().to_string(),
            extensions: schematic.official_extensions().to_vec(),
            yaml: schematic.to_canonical_yaml(),
        })
    }

    fn installer_image(
        &self,
        factory_host: &str,
        platform: &str,
        secureboot: bool,
        schematic_id: &str,
        version: &TalosVersion,
    ) -> rollout_core::Result<String> {
        let id = SchematicId::from_str(schematic_id).map_err(resolution)?;
        let installer = InstallerRef::for_platform(
            factory_host,
            platform,
            &id,
            &version.to_string(),
            secureboot,
        )
        .map_err(resolution)?;
        Ok(installer.to_string())
    }
}

/// [`FactoryPort`] over a [`FactoryClient`].
#[derive(Debug, Clone)]
pub struct FactoryAdapter {
    client: FactoryClient,
}

impl FactoryAdapter {
    /// Wraps a factory client.
    pub fn new(client: FactoryClient) -> Self {
        FactoryAdapter { client }
    }
}

fn port_error(operation: &str, error: factory_client::Error) -> PortError {
    let kind = if error.is_retryable() {
        PortErrorKind::Unavailable
    } else if error.is_invalid_schematic() {
        PortErrorKind::Rejected
    } else if error.is_not_found() {
        PortErrorKind::NotFound
    } else {
        PortErrorKind::Other
    };
    let message = error.to_string();
    PortError::new("factory", operation, kind, message).with_source(error)
}

#[async_trait]
impl FactoryPort for FactoryAdapter {
    async fn ensure_schematic(&self, yaml: &str) -> Result<String, PortError> {
        let schematic = Schematic::from_yaml(yaml).map_err(|e| port_error("parse schematic", e))?;
        let created = self
            .client
            .create_schematic(&schematic)
            .await
            .map_err(|e| port_error("create schematic", e))?;
        Ok(created.id.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn extending_an_empty_schematic_with_tailscale_gives_the_factory_id() {
        // Golden from the Image Factory facts: `customization: {}` is this well-known ID.
        let empty = FactoryResolver
            .resolve(&SchematicRequest::Replace {
                yaml: "customization: {}",
            })
            .unwrap();
        assert_eq!(
            empty.id,
            "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
        );
        let current = vec!["siderolabs/i915".to_owned(), "siderolabs/mei".to_owned()];
        let add = vec!["siderolabs/tailscale".to_owned()];
        let request = SchematicRequest::Extend {
            current_yaml: None,
            current_extensions: &current,
            add: &add,
        };
        let resolved = FactoryResolver.resolve(&request).unwrap();
        assert_eq!(
            resolved.extensions,
            ["siderolabs/i915", "siderolabs/mei", "siderolabs/tailscale"]
        );
        let reparsed = FactoryResolver
            .resolve(&SchematicRequest::Replace {
                yaml: &resolved.yaml,
            })
            .unwrap();
        assert_eq!(reparsed.id, resolved.id);
        let version = TalosVersion::parse("v1.10.4").unwrap();
        let image = FactoryResolver
            .installer_image("factory.talos.dev", "metal", false, &resolved.id, &version)
            .unwrap();
        assert_eq!(
            image,
            format!("factory.talos.dev/metal-installer/{}:v1.10.4", resolved.id)
        );
    }
}
