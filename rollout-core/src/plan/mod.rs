//! The dry run: discovered facts + spec → an ordered, serializable [`Plan`] with no side effects.

mod configs;
mod display;
mod installer;
mod node_plan;
mod order;
mod resolver;
mod warning;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use configs::{NodeConfigs, Planned};
pub use node_plan::{NodeAction, NodeImage, NodePlan};
pub use resolver::{InstallerFlavour, ResolvedSchematic, SchematicRequest, SchematicResolver};
pub use warning::PlanWarning;

use crate::esc::ExtensionServiceConfig;
use crate::extension::{ExtensionPlan, ExtensionRequest, NodeExtension, PlannedEsc};
use crate::facts::{ClusterFacts, NodeFacts, short_extension_name};
use crate::spec::{FailurePolicy, GateSettings, PhaseTimeouts, RolloutSpec, TargetSchematic};
use crate::version::TalosVersion;

/// The parts of the spec the state machine needs while executing (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSettings {
    /// Worker concurrency.
    pub max_unavailable: usize,
    /// Soak time after verification.
    #[serde(with = "crate::spec::duration")]
    pub soak: Duration,
    /// Per-phase timeouts.
    pub timeouts: PhaseTimeouts,
    /// What to do on failure.
    pub failure_policy: FailurePolicy,
    /// User gates per phase.
    pub gates: GateSettings,
    /// Cordon/drain requested in the spec; the front door clears it when it has no
    /// Kubernetes port, so the plan shows what will run (the machine also requires a port).
    pub drain: bool,
    /// Verification waits for every running pod on the node to be Ready (with a Kubernetes
    /// port; see [`crate::gate::conditions::kubernetes_ready`]).
    #[serde(default)]
    pub require_pods_ready: bool,
}

/// The dry run of a rollout: ordered node plans, the schematics to register, warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Cluster name.
    pub cluster: String,
    /// The extension profile the plan rolls out (`tailscale`).
    pub profile: String,
    /// Nodes in execution order (control plane first, etcd leader last among them).
    pub nodes: Vec<NodePlan>,
    /// Distinct target schematics (registered with the Image Factory before the first install).
    pub schematics: Vec<ResolvedSchematic>,
    /// Things to know before running it.
    pub warnings: Vec<PlanWarning>,
    /// Execution settings.
    pub settings: PlanSettings,
}

impl Plan {
    /// The plan for a node, by name.
    pub fn node(&self, node: &str) -> Option<&NodePlan> {
        self.nodes.iter().find(|plan| plan.node == node)
    }
}

/// Computes the plan: pure, no I/O. The result pairs the public [`Plan`] with the secret
/// per-node configs it was computed from, so a driver can only run the configs of its plan.
///
/// # Errors
/// - [`crate::Error::InvalidSpec`] for an invalid spec;
/// - [`crate::Error::InvalidExtensionConfig`] for an invalid per-node config;
/// - [`crate::Error::UnknownNode`] when the request configures a node the cluster does not have;
/// - [`crate::Error::PlanRefused`] when the target drops extensions a node runs and
///   `allow_extension_removal` is off, or a node's version is unreadable;
/// - [`crate::Error::SchematicResolution`] from the resolver.
///
/// # Usage
/// ```
/// use std::collections::BTreeMap;
/// use rollout_core::plan::{
///     InstallerFlavour, NodeAction, ResolvedSchematic, SchematicRequest, SchematicResolver,
/// };
/// use rollout_core::version::TalosVersion;
/// use rollout_core::{ClusterFacts, ExtensionRequest, NodeFacts, NodeRole, RolloutSpec, plan};
///
/// /// Names a schematic by its extensions (a real resolver computes the factory's ID).
/// struct ByName;
/// impl SchematicResolver for ByName {
///     fn resolve(&self, request: &SchematicRequest<'_>) -> rollout_core::Result<ResolvedSchematic> {
///         let SchematicRequest::Extend { current_extensions, add, .. } = request else { unreachable!() };
///         let extensions: Vec<String> = current_extensions.iter().chain(add.iter()).cloned().collect();
///         Ok(ResolvedSchematic { id: extensions.join("+"), yaml: String::new(), extensions })
///     }
///     fn installer_image(&self, host: &str, platform: &str, _: bool, id: &str, version: &TalosVersion)
///         -> rollout_core::Result<String> {
///         Ok(format!("{host}/{platform}-installer/{id}:{version}"))
///     }
///     fn installer_flavour(&self, _image: &str) -> Option<InstallerFlavour> {
///         None // every node is planned as metal without SecureBoot, with a warning
///     }
/// }
///
/// let node = |name: &str, leader: bool| NodeFacts {
///     node: name.into(),
///     nodename: name.into(),
///     role: NodeRole::ControlPlane,
///     etcd_leader: leader,
///     version: "v1.10.4".into(),
///     schematic_id: None,
///     extensions: vec!["i915".into()],
///     schematic_extensions: Some(vec!["siderolabs/i915".into()]),
///     schematic_yaml: None,
///     install_image: Some("ghcr.io/siderolabs/installer:v1.10.4".into()),
///     extension_service_configs: BTreeMap::new(),
///     boot_id: None,
/// };
/// let facts = ClusterFacts {
///     cluster: "home".into(),
///     nodes: vec![node("k8s-1", true), node("k8s-2", false)],
/// };
/// let request = ExtensionRequest {
///     profile: "iscsi-tools".into(),
///     extensions: vec!["siderolabs/iscsi-tools".into()],
///     ..ExtensionRequest::default()
/// };
/// let planned = plan(&RolloutSpec::default(), &facts, &ByName, &request)?;
/// let plan = &planned.plan;
/// assert_eq!(plan.nodes[0].node, "k8s-2", "the etcd leader goes last");
/// assert_eq!(plan.nodes[1].action, NodeAction::Upgrade);
/// assert_eq!(plan.nodes[1].to.extensions, ["siderolabs/i915", "siderolabs/iscsi-tools"]);
/// println!("{plan}");
/// # Ok::<(), rollout_core::Error>(())
/// ```
pub fn plan(
    spec: &RolloutSpec,
    facts: &ClusterFacts,
    resolver: &dyn SchematicResolver,
    request: &ExtensionRequest,
) -> crate::Result<Planned> {
    spec.validate()?;
    for (node, extension) in &request.nodes {
        if !facts.nodes.iter().any(|fact| &fact.node == node) {
            return Err(crate::Error::UnknownNode { node: node.clone() });
        }
        if let Some(config) = &extension.config {
            config.validate().map_err(|err| {
                crate::Error::extension_config(&request.profile, format!("{node}: {err}"))
            })?;
        }
    }
    let mut warnings = Vec::new();
    let mut schematics: BTreeMap<String, ResolvedSchematic> = BTreeMap::new();
    let mut nodes = Vec::new();
    let mut configs = BTreeMap::new();
    let none = NodeExtension::default();
    for fact in order::execution_order(&facts.nodes, &spec.ordering) {
        let extension = request.nodes.get(&fact.node).unwrap_or(&none);
        let (node_plan, resolved) =
            plan_node(spec, fact, request, extension, resolver, &mut warnings)?;
        schematics.entry(resolved.id.clone()).or_insert(resolved);
        if let Some(config) = &extension.config {
            configs.insert(fact.node.clone(), config.clone());
        }
        nodes.push(node_plan);
    }
    let plan = Plan {
        cluster: facts.cluster.clone(),
        profile: request.profile.clone(),
        nodes,
        schematics: schematics.into_values().collect(),
        warnings,
        settings: PlanSettings {
            max_unavailable: spec.ordering.max_unavailable,
            soak: spec.soak,
            timeouts: spec.timeouts.clone(),
            failure_policy: spec.failure_policy,
            gates: spec.gates.clone(),
            drain: spec.drain,
            require_pods_ready: spec.require_pods_ready,
        },
    };
    Planned::new(plan, NodeConfigs::new(configs))
}

fn plan_node(
    spec: &RolloutSpec,
    fact: &NodeFacts,
    request: &ExtensionRequest,
    extension: &NodeExtension,
    resolver: &dyn SchematicResolver,
    warnings: &mut Vec<PlanWarning>,
) -> crate::Result<(NodePlan, ResolvedSchematic)> {
    let refuse = |reason: String| crate::Error::PlanRefused {
        node: fact.node.clone(),
        reason,
    };
    let from_version = TalosVersion::parse(&fact.version).map_err(refuse)?;
    let to_version = match &spec.talos_version {
        Some(version) => TalosVersion::parse(version)
            .map_err(|reason| crate::Error::spec("talos_version", reason))?,
        None => from_version.clone(),
    };
    version_warnings(fact, &from_version, &to_version, warnings);

    let current_extensions = current_extensions(fact, warnings);
    let resolved = match &spec.target {
        TargetSchematic::AddExtensions(extra) => {
            let mut add = request.extensions.clone();
            add.extend(
                extra
                    .iter()
                    .filter(|name| !add.contains(name))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            resolver.resolve(&SchematicRequest::Extend {
                current_yaml: fact.schematic_yaml.as_deref(),
                current_extensions: &current_extensions,
                add: &add,
            })?
        }
        TargetSchematic::Schematic(yaml) => {
            resolver.resolve(&SchematicRequest::Replace { yaml })?
        }
    };
    check_removed_extensions(spec, fact, &resolved, warnings)?;
    if request.requires_config && extension.config.is_none() {
        warnings.push(PlanWarning::ExtensionWithoutConfig {
            node: fact.node.clone(),
            profile: request.profile.clone(),
        });
    }

    let (platform, secureboot) = installer::target_flavour(spec, fact, resolver, warnings);
    let installer = resolver.installer_image(
        &spec.factory_host,
        &platform,
        secureboot,
        &resolved.id,
        &to_version,
    )?;
    let planned_esc = extension.config.as_ref().map(|esc| planned_esc(esc, fact));
    let image_converged =
        from_version == to_version && fact.schematic_id.as_deref() == Some(resolved.id.as_str());
    let config_converged = planned_esc.as_ref().is_none_or(|esc| !esc.changed);
    let action = match (image_converged, config_converged) {
        (true, true) => NodeAction::Skip {
            reason: "already converged (version, schematic and config match)".into(),
        },
        (true, false) => NodeAction::ConfigOnly,
        (false, _) => NodeAction::Upgrade,
    };
    let node_plan = NodePlan {
        node: fact.node.clone(),
        nodename: fact.nodename.clone(),
        role: fact.role,
        etcd_leader: fact.etcd_leader,
        from: NodeImage {
            version: from_version.to_string(),
            schematic_id: fact.schematic_id.clone(),
            install_image: fact.install_image.clone(),
            extensions: current_extensions,
        },
        to: NodeImage {
            version: to_version.to_string(),
            schematic_id: Some(resolved.id.clone()),
            install_image: Some(installer),
            extensions: resolved.extensions.clone(),
        },
        extension: ExtensionPlan {
            profile: request.profile.clone(),
            esc: planned_esc,
            node_checks: extension.node_checks.clone(),
            post_verify: extension.post_verify.clone(),
            soak_checks: extension.soak_checks.clone(),
            details: extension.details.clone(),
        },
        action,
    };
    Ok((node_plan, resolved))
}

/// The ESC a node gets, described without its secrets.
fn planned_esc(esc: &ExtensionServiceConfig, fact: &NodeFacts) -> PlannedEsc {
    let digest = crate::esc::digest(esc);
    PlannedEsc {
        name: esc.name.clone(),
        changed: fact.extension_service_configs.get(&esc.name) != Some(&digest),
        digest,
        environment: crate::esc::redacted_environment(esc),
    }
}

fn version_warnings(
    fact: &NodeFacts,
    from: &TalosVersion,
    to: &TalosVersion,
    warnings: &mut Vec<PlanWarning>,
) {
    let (node, from_text, to_text) = (fact.node.clone(), from.to_string(), to.to_string());
    if from.minors_skipped_to(to) > 0 {
        warnings.push(PlanWarning::SkippedMinorVersion {
            node,
            from: from_text,
            to: to_text,
        });
    } else if from.is_downgrade_to(to) {
        warnings.push(PlanWarning::Downgrade {
            node,
            from: from_text,
            to: to_text,
        });
    }
}

fn current_extensions(fact: &NodeFacts, warnings: &mut Vec<PlanWarning>) -> Vec<String> {
    match &fact.schematic_extensions {
        Some(extensions) => extensions.clone(),
        None if fact.extensions.is_empty() => Vec::new(),
        None => {
            warnings.push(PlanWarning::ExtensionsDerivedFromRunning {
                node: fact.node.clone(),
            });
            fact.extensions
                .iter()
                .map(|name| {
                    if name.contains('/') {
                        name.clone()
                    } else {
                        format!("siderolabs/{name}")
                    }
                })
                .collect()
        }
    }
}

fn check_removed_extensions(
    spec: &RolloutSpec,
    fact: &NodeFacts,
    resolved: &ResolvedSchematic,
    warnings: &mut Vec<PlanWarning>,
) -> crate::Result<()> {
    let removed: Vec<String> = fact
        .extensions
        .iter()
        .filter(|running| {
            !resolved
                .extensions
                .iter()
                .any(|target| short_extension_name(target) == short_extension_name(running))
        })
        .cloned()
        .collect();
    if removed.is_empty() {
        return Ok(());
    }
    if !spec.allow_extension_removal {
        return Err(crate::Error::PlanRefused {
            node: fact.node.clone(),
            reason: format!(
                "the target schematic drops {} which the node runs; add them to the target schematic or set allow_extension_removal",
                removed.join(", ")
            ),
        });
    }
    warnings.push(PlanWarning::ExtensionsRemoved {
        node: fact.node.clone(),
        extensions: removed,
    });
    Ok(())
}
