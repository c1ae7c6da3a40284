//! `ImageFactorySchematics.runtime.talos.dev` (Talos 1.14+): the schematic a node's image
//! was built from, and the one rule for which report of the schematic ID wins.

use super::{ExtensionStatus, Resource, resource_kind, schematic_id};
use crate::client::NodeClient;
use crate::error::Error;
use crate::proto::talos::resource::definitions::runtime::ImageFactorySchematicSpec;
use crate::version::has_image_factory_schematic_resource;

resource_kind!(
    /// The Image Factory schematic of the running image (id `image-factory-schematic`;
    /// Talos 1.14.0-alpha.2+): `schematic_id`, `flavor` and `apiurl`.
    ImageFactorySchematic,
    "ImageFactorySchematics.runtime.talos.dev",
    "runtime",
    ImageFactorySchematicSpec
);

/// The id of the one `ImageFactorySchematics` resource.
const IMAGE_FACTORY_SCHEMATIC: &str = "image-factory-schematic";

/// The schematic ID a node reports: the `ImageFactorySchematics` resource's when it has
/// one, else the `schematic` pseudo-extension's among `extensions` (every version has
/// that one); `None` for an image no Image Factory built.
///
/// # Usage
///
/// ```
/// use talos_client::resources::reported_schematic_id;
///
/// assert_eq!(reported_schematic_id(None, &[]), None);
/// ```
pub fn reported_schematic_id(
    factory: Option<&Resource<ImageFactorySchematic>>,
    extensions: &[Resource<ExtensionStatus>],
) -> Option<String> {
    factory
        .map(|resource| resource.spec.schematic_id.clone())
        .filter(|id| !id.is_empty())
        .or_else(|| schematic_id(extensions))
}

impl NodeClient {
    /// The `ImageFactorySchematics` resource of a node running `version` (its tag).
    ///
    /// `None` without asking on versions that do not have the type
    /// ([`has_image_factory_schematic_resource`]), and when the node has none (an image no
    /// Image Factory built, or a type the node turns out not to register).
    ///
    /// # Errors
    ///
    /// As [`NodeClient::get`], except that an unregistered type is `None`.
    pub async fn image_factory_schematic(
        &self,
        version: &str,
    ) -> Result<Option<Resource<ImageFactorySchematic>>, Error> {
        if !has_image_factory_schematic_resource(version) {
            return Ok(None);
        }
        match self
            .get::<ImageFactorySchematic>(IMAGE_FACTORY_SCHEMATIC)
            .await
        {
            Ok(resource) => Ok(resource),
            Err(error) if error.is_permission_denied() || error.is_unimplemented() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The schematic ID of a node running `version`, by [`reported_schematic_id`]: the
    /// `ImageFactorySchematics` resource on Talos 1.14+ when present, else the `schematic`
    /// pseudo-extension (the extensions are listed only then).
    ///
    /// # Errors
    ///
    /// As [`NodeClient::image_factory_schematic`] and [`NodeClient::extensions`].
    pub async fn schematic_id_for(&self, version: &str) -> Result<Option<String>, Error> {
        let factory = self.image_factory_schematic(version).await?;
        if let Some(id) = reported_schematic_id(factory.as_ref(), &[]) {
            return Ok(Some(id));
        }
        Ok(schematic_id(&self.extensions().await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::talos::resource::definitions::extensions::{Layer, Metadata};

    fn factory(id: &str) -> Resource<ImageFactorySchematic> {
        Resource {
            metadata: Default::default(),
            spec: ImageFactorySchematicSpec {
                schematic_id: id.to_owned(),
                ..Default::default()
            },
        }
    }

    fn pseudo_extension(id: &str) -> Resource<ExtensionStatus> {
        Resource {
            metadata: Default::default(),
            spec: Layer {
                image: "001.sqsh".to_owned(),
                metadata: Some(Metadata {
                    name: crate::resources::SCHEMATIC_EXTENSION.to_owned(),
                    version: id.to_owned(),
                    ..Default::default()
                }),
            },
        }
    }

    #[test]
    fn the_resource_alone_gives_the_schematic_id() {
        assert_eq!(
            reported_schematic_id(Some(&factory("abc")), &[]),
            Some("abc".to_owned())
        );
    }

    #[test]
    fn the_pseudo_extension_alone_gives_the_schematic_id() {
        assert_eq!(
            reported_schematic_id(None, &[pseudo_extension("def")]),
            Some("def".to_owned())
        );
        // An empty resource counts as absent.
        assert_eq!(
            reported_schematic_id(Some(&factory("")), &[pseudo_extension("def")]),
            Some("def".to_owned())
        );
    }

    #[test]
    fn the_resource_wins_over_the_pseudo_extension() {
        assert_eq!(
            reported_schematic_id(Some(&factory("abc")), &[pseudo_extension("def")]),
            Some("abc".to_owned())
        );
    }
}
