//! Adapters over `factory-client`: the offline [`SchematicResolver`] and the [`FactoryPort`].

use std::str::FromStr;

use async_trait::async_trait;
use factory_client::{FactoryClient, InstallerRef, Schematic, SchematicId};

use rollout_core::plan::{
    InstallerFlavour, ResolvedSchematic, SchematicRequest, SchematicResolver,
};
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

    fn installer_flavour(&self, image: &str) -> Option<InstallerFlavour> {
        let installer = InstallerRef::parse(image).ok()?;
        Some(InstallerFlavour {
            platform: installer.factory_platform().to_owned(),
            secureboot: installer.is_secureboot(),
            factory_host: installer.host,
        })
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
    use rollout_core::{ClusterFacts, ExtensionRequest, NodeFacts, NodeRole, RolloutSpec};

    const EMPTY: &str = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    #[test]
    fn reads_each_installer_names_platform_and_secureboot() {
        let flavour = |platform: &str, secureboot| {
            Some(InstallerFlavour {
                factory_host: "factory.talos.dev".into(),
                platform: platform.into(),
                secureboot,
            })
        };
        let table = [
            ("installer-secureboot", flavour("metal", true)),
            ("installer", flavour("metal", false)),
            ("metal-installer", flavour("metal", false)),
            ("aws-installer", flavour("aws", false)),
            (
                "digital-ocean-installer-secureboot",
                flavour("digital-ocean", true),
            ),
        ];
        for (name, expected) in table {
            let image = format!("factory.talos.dev/{name}/{EMPTY}:v1.14.1");
            assert_eq!(
                FactoryResolver.installer_flavour(&image),
                expected,
                "{image}"
            );
        }
        for not_factory in [
            "ghcr.io/siderolabs/installer:v1.10.4",
            "registry.example.com/talos/custom:v1.14.1",
        ] {
            assert_eq!(FactoryResolver.installer_flavour(not_factory), None);
        }
    }

    #[test]
    fn a_mixed_cluster_plans_each_nodes_own_installer() {
        let node = |name: &str, image: &str| NodeFacts {
            node: name.into(),
            nodename: name.into(),
            role: NodeRole::Worker,
            etcd_leader: false,
            version: "v1.14.1".into(),
            schematic_id: Some(EMPTY.into()),
            extensions: Vec::new(),
            schematic_extensions: Some(Vec::new()),
            schematic_yaml: None,
            install_image: Some(format!("factory.talos.dev/{image}/{EMPTY}:v1.14.1")),
            extension_service_configs: Default::default(),
            boot_id: None,
        };
        let facts = ClusterFacts {
            cluster: "mixed".into(),
            nodes: vec![
                node("cloud", "aws-installer"),
                node("rack", "installer-secureboot"),
            ],
        };
        let request = ExtensionRequest {
            profile: "iscsi-tools".into(),
            extensions: vec!["siderolabs/iscsi-tools".into()],
            ..ExtensionRequest::default()
        };
        let plan = rollout_core::plan(&RolloutSpec::default(), &facts, &FactoryResolver, &request)
            .unwrap()
            .plan;
        let target = plan.schematics[0].id.clone();
        let image = |node: &str| plan.node(node).unwrap().to.install_image.clone().unwrap();
        assert_eq!(
            image("cloud"),
            format!("factory.talos.dev/aws-installer/{target}:v1.14.1")
        );
        assert_eq!(
            image("rack"),
            format!("factory.talos.dev/metal-installer-secureboot/{target}:v1.14.1")
        );
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    }

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
