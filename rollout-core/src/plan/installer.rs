//! Which installer flavour a node's target image uses: its own, unless the spec overrides.

use super::PlanWarning;
use super::resolver::SchematicResolver;
use crate::facts::NodeFacts;
use crate::spec::RolloutSpec;

/// The platform used when neither the spec nor the node's current installer names one.
const FALLBACK_PLATFORM: &str = "metal";

/// The platform and SecureBoot flavour of `fact`'s target installer.
///
/// Each comes from the spec when it names it (an explicit override), else from the node's
/// current factory installer (`machine.install.image`), else `metal` without SecureBoot;
/// that last case adds [`PlanWarning::InstallerFlavourAssumed`].
pub(super) fn target_flavour(
    spec: &RolloutSpec,
    fact: &NodeFacts,
    resolver: &dyn SchematicResolver,
    warnings: &mut Vec<PlanWarning>,
) -> (String, bool) {
    let current = fact
        .install_image
        .as_deref()
        .and_then(|image| resolver.installer_flavour(image));
    let platform = spec
        .platform
        .clone()
        .or_else(|| current.as_ref().map(|c| c.platform.clone()));
    let secureboot = spec
        .secureboot
        .or_else(|| current.as_ref().map(|c| c.secureboot));
    let assumed = platform.is_none() || secureboot.is_none();
    let platform = platform.unwrap_or_else(|| FALLBACK_PLATFORM.to_owned());
    let secureboot = secureboot.unwrap_or(false);
    if assumed {
        warnings.push(PlanWarning::InstallerFlavourAssumed {
            node: fact.node.clone(),
            image: fact.install_image.clone(),
            platform: platform.clone(),
            secureboot,
        });
    }
    (platform, secureboot)
}
