//! The dry run: discovered facts + spec → an ordered, serializable [`Plan`] with no side effects.

mod display;
mod node_plan;
mod order;
mod resolver;
mod warning;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use node_plan::{NodeAction, NodeImage, NodePlan, PlannedEsc, TailnetExpectation};
pub use resolver::{ResolvedSchematic, SchematicRequest, SchematicResolver};
pub use warning::PlanWarning;

use crate::discovery::{ClusterFacts, NodeFacts, short_extension_name};
use crate::esc::ExtensionServiceConfig;
use crate::spec::{
    FailurePolicy, GateSettings, PhaseTimeouts, RolloutSpec, TAILSCALE_EXTENSION, TargetSchematic,
};
use crate::tailscale::{RouteApproval, SERVICE_NAME};
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
    /// How routes get approved.
    pub route_approval: RouteApproval,
    /// Cordon/drain requested (effective only with a Kubernetes port).
    pub drain: bool,
}

/// The dry run of a rollout: ordered node plans, the schematics to register, warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Cluster name.
    pub cluster: String,
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

/// Computes the plan: pure, no I/O.
///
/// # Errors
/// - [`crate::Error::InvalidSpec`] for an invalid spec;
/// - [`crate::Error::UnknownNode`] when the spec configures a node the cluster does not have;
/// - [`crate::Error::PlanRefused`] when the target drops extensions a node runs and
///   `allow_extension_removal` is off, or a node's version is unreadable;
/// - [`crate::Error::SchematicResolution`] from the resolver.
///
/// # Usage
/// ```
/// use std::collections::BTreeMap;
/// use rollout_core::adapters::FactoryResolver;
/// use rollout_core::plan::NodeAction;
/// use rollout_core::{ClusterFacts, NodeFacts, NodeRole, RolloutSpec, plan};
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
/// // The default spec adds siderolabs/tailscale and keeps each node's version.
/// let plan = plan(&RolloutSpec::default(), &facts, &FactoryResolver)?;
/// assert_eq!(plan.nodes[0].node, "k8s-2", "the etcd leader goes last");
/// assert_eq!(plan.nodes[1].action, NodeAction::Upgrade);
/// assert_eq!(plan.nodes[1].to.extensions, ["siderolabs/i915", "siderolabs/tailscale"]);
/// println!("{plan}");
/// # Ok::<(), rollout_core::Error>(())
/// ```
pub fn plan(
    spec: &RolloutSpec,
    facts: &ClusterFacts,
    resolver: &dyn SchematicResolver,
) -> crate::Result<Plan> {
    spec.validate()?;
    for node in spec.extension_service_configs.keys() {
        if !facts.nodes.iter().any(|fact| &fact.node == node) {
            return Err(crate::Error::UnknownNode { node: node.clone() });
        }
    }
    let mut warnings = Vec::new();
    let mut schematics: BTreeMap<String, ResolvedSchematic> = BTreeMap::new();
    let mut nodes = Vec::new();
    for fact in order::execution_order(&facts.nodes, &spec.ordering) {
        let esc = spec.extension_service_configs.get(&fact.node);
        let (node_plan, resolved) = plan_node(spec, fact, esc, resolver, &mut warnings)?;
        schematics.entry(resolved.id.clone()).or_insert(resolved);
        nodes.push(node_plan);
    }
    Ok(Plan {
        cluster: facts.cluster.clone(),
        nodes,
        schematics: schematics.into_values().collect(),
        warnings,
        settings: PlanSettings {
            max_unavailable: spec.ordering.max_unavailable,
            soak: spec.soak,
            timeouts: spec.timeouts.clone(),
            failure_policy: spec.failure_policy,
            gates: spec.gates.clone(),
            route_approval: spec.route_approval,
            drain: spec.drain,
        },
    })
}

fn plan_node(
    spec: &RolloutSpec,
    fact: &NodeFacts,
    esc: Option<&ExtensionServiceConfig>,
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
        TargetSchematic::AddExtensions(add) => resolver.resolve(&SchematicRequest::Extend {
            current_yaml: fact.schematic_yaml.as_deref(),
            current_extensions: &current_extensions,
            add,
        })?,
        TargetSchematic::Schematic(yaml) => {
            resolver.resolve(&SchematicRequest::Replace { yaml })?
        }
    };
    check_removed_extensions(spec, fact, &resolved, warnings)?;
    if resolved
        .extensions
        .iter()
        .any(|ext| ext == TAILSCALE_EXTENSION)
        && esc.is_none_or(|esc| esc.name != SERVICE_NAME)
    {
        warnings.push(PlanWarning::TailscaleWithoutConfig {
            node: fact.node.clone(),
        });
    }

    let installer = resolver.installer_image(
        &spec.factory_host,
        &spec.platform,
        spec.secureboot,
        &resolved.id,
        &to_version,
    )?;
    let planned_esc = esc.map(|esc| planned_esc(esc, fact));
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
    let tailnet = esc
        .filter(|esc| esc.name == SERVICE_NAME)
        .map(|esc| tailnet_expectation(esc, fact));
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
        esc: planned_esc,
        tailnet,
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

/// The tailnet device a tailscale ESC produces: `TS_HOSTNAME` (else the node name) and `TS_ROUTES`.
fn tailnet_expectation(esc: &ExtensionServiceConfig, fact: &NodeFacts) -> TailnetExpectation {
    let routes = esc
        .env_value("TS_ROUTES")
        .map(|routes| {
            routes
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    TailnetExpectation {
        hostname: esc
            .env_value("TS_HOSTNAME")
            .unwrap_or(&fact.nodename)
            .to_owned(),
        routes,
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
