//! Planning: the golden plan for the seed-shaped cluster and the planner's refusals.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use rollout_core::extension::{ExtensionPlan, PostVerifyStep};
use rollout_core::plan::{NodeAction, NodeConfigs, PlanWarning, Planned};
use rollout_core::spec::TargetSchematic;
use rollout_core::{
    ClusterFacts, Error, ExtensionRequest, RolloutSpec, plan, version::TalosVersion,
};
use support::{
    FakeResolver, TEST_AUTH_KEY, seed_cluster, seed_spec, tailscale_esc, tailscale_post_verify,
    tailscale_request,
};

/// Plans the seed-shaped rollout of `facts` with every node configured.
fn planned(spec: &RolloutSpec, facts: &ClusterFacts) -> rollout_core::Result<Planned> {
    plan(spec, facts, &FakeResolver, &tailscale_request(facts))
}

fn check_golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {path} cannot be read ({e}); create it with UPDATE_GOLDEN=1 and review it"
        )
    });
    assert_eq!(
        actual, expected,
        "golden {name} differs; rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}

/// Schematic IDs in these goldens come from the FAKE resolver in `support` (not the factory's ID).
#[test]
fn golden_plan_for_the_seed_cluster() {
    let plan = planned(&seed_spec(), &seed_cluster()).unwrap().plan;
    check_golden("seed_plan.txt", &plan.to_string());
    check_golden(
        "seed_plan.json",
        &(serde_json::to_string_pretty(&plan).unwrap() + "\n"),
    );
}

#[test]
fn seed_plan_adds_tailscale_keeps_i915_and_mei_and_rolls_the_leader_last() {
    let plan = planned(&seed_spec(), &seed_cluster()).unwrap().plan;
    assert_eq!(plan.profile, "tailscale");
    let order: Vec<&str> = plan.nodes.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(order, ["k8s-2", "k8s-3", "k8s-1"]);
    let target =
        FakeResolver::id_for(&["siderolabs/i915", "siderolabs/mei", "siderolabs/tailscale"]);
    for node in &plan.nodes {
        assert_eq!(node.action, NodeAction::Upgrade);
        assert_eq!(node.to.schematic_id.as_deref(), Some(target.as_str()));
        assert_eq!(
            node.to.install_image.as_deref(),
            Some(format!("factory.talos.dev/metal-installer/{target}:v1.10.4").as_str())
        );
        let extension = &node.extension;
        assert_eq!(extension.profile, "tailscale");
        assert_eq!(extension.details["routes"], "10.43.0.0/16");
        assert_eq!(extension.details["hostname"], node.node);
        assert_eq!(extension.post_verify, tailscale_post_verify());
        assert_eq!(extension.service().as_deref(), Some("ext-tailscale"));
    }
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let json = serde_json::to_string(&plan).unwrap();
    assert!(
        !json.contains(TEST_AUTH_KEY),
        "the plan must not carry the auth key"
    );
}

#[test]
fn the_planned_configs_are_the_requested_ones_and_never_printed() {
    let facts = seed_cluster();
    let planned = planned(&seed_spec(), &facts).unwrap();
    for node in &facts.nodes {
        assert_eq!(
            planned.configs().get(&node.node),
            Some(&tailscale_esc(&node.node))
        );
    }
    let request = tailscale_request(&facts);
    for debug in [format!("{planned:?}"), format!("{request:?}")] {
        assert!(debug.contains("k8s-1"), "the value is printed: {debug}");
        assert!(!debug.contains(TEST_AUTH_KEY), "{debug}");
    }
}

#[test]
fn a_node_without_the_config_its_extension_needs_is_planned_with_a_warning() {
    let facts = seed_cluster();
    let mut request = tailscale_request(&facts);
    request.nodes.remove("k8s-3");
    let planned = plan(&seed_spec(), &facts, &FakeResolver, &request).unwrap();
    assert_eq!(
        planned.plan.warnings,
        [PlanWarning::ExtensionWithoutConfig {
            node: "k8s-3".into(),
            profile: "tailscale".into()
        }]
    );
    let node = planned.plan.node("k8s-3").unwrap();
    assert_eq!(
        node.extension,
        ExtensionPlan {
            profile: "tailscale".into(),
            ..ExtensionPlan::default()
        }
    );
    assert_eq!(planned.configs().get("k8s-3"), None);
}

#[test]
fn converged_nodes_are_skipped_and_config_only_changes_do_not_reboot() {
    let spec = seed_spec();
    let mut facts = seed_cluster();
    let target =
        FakeResolver::id_for(&["siderolabs/i915", "siderolabs/mei", "siderolabs/tailscale"]);
    for node in &mut facts.nodes[..2] {
        node.schematic_id = Some(target.clone());
        node.extensions.push("tailscale".into());
        node.schematic_extensions = Some(vec![
            "siderolabs/i915".into(),
            "siderolabs/mei".into(),
            "siderolabs/tailscale".into(),
        ]);
    }
    let digest = rollout_core::esc::digest(&tailscale_esc("k8s-1"));
    facts.nodes[0]
        .extension_service_configs
        .insert("tailscale".into(), digest);
    let plan = planned(&spec, &facts).unwrap().plan;
    assert!(plan.node("k8s-1").unwrap().is_skipped());
    assert_eq!(plan.node("k8s-2").unwrap().action, NodeAction::ConfigOnly);
    assert_eq!(plan.node("k8s-3").unwrap().action, NodeAction::Upgrade);
}

#[test]
fn a_target_that_drops_a_running_extension_is_refused_unless_allowed() {
    let mut spec = seed_spec();
    spec.target = TargetSchematic::Schematic(
        "customization:\n  systemExtensions:\n    officialExtensions:\n      - siderolabs/tailscale\n".into(),
    );
    let err = planned(&spec, &seed_cluster()).unwrap_err();
    assert!(err.to_string().contains("drops i915, mei"), "{err}");
    assert!(err.is_invalid_input());
    spec.allow_extension_removal = true;
    let plan = planned(&spec, &seed_cluster()).unwrap().plan;
    assert!(
        plan.warnings
            .iter()
            .any(|w| matches!(w, PlanWarning::ExtensionsRemoved { .. }))
    );
}

#[test]
fn skipping_a_minor_version_warns() {
    let mut spec = seed_spec();
    spec.talos_version = Some("v1.12.0".into());
    let plan = planned(&spec, &seed_cluster()).unwrap().plan;
    assert!(
        matches!(&plan.warnings[0], PlanWarning::SkippedMinorVersion { from, to, .. } if from == "v1.10.4" && to == "v1.12.0")
    );
    assert_eq!(
        plan.nodes[0].to.version,
        TalosVersion::parse("v1.12.0").unwrap().to_string()
    );
}

#[test]
fn config_for_an_unknown_node_is_refused() {
    let facts = seed_cluster();
    let mut request = tailscale_request(&facts);
    request
        .nodes
        .insert("k8s-9".into(), support::tailscale_node("k8s-9"));
    let err = plan(&seed_spec(), &facts, &FakeResolver, &request).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownNode { node } if node == "k8s-9"),
        "{err:?}"
    );
    assert!(err.is_invalid_input());
}

#[test]
fn an_invalid_config_is_refused_naming_the_profile_and_node() {
    let facts = seed_cluster();
    let mut request: ExtensionRequest = tailscale_request(&facts);
    if let Some(node) = request.nodes.get_mut("k8s-2") {
        node.config.as_mut().unwrap().environment.clear();
    }
    let err = plan(&seed_spec(), &facts, &FakeResolver, &request).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidExtensionConfig { profile, reason }
            if profile == "tailscale" && reason.contains("k8s-2")),
        "{err:?}"
    );
}

/// The configs of the seed plan with `edit` applied.
fn edited_configs(
    planned: &Planned,
    edit: impl FnOnce(&mut BTreeMap<String, rollout_core::ExtensionServiceConfig>),
) -> NodeConfigs {
    let mut configs: BTreeMap<_, _> = planned
        .configs()
        .iter()
        .map(|(node, config)| (node.clone(), config.clone()))
        .collect();
    edit(&mut configs);
    NodeConfigs::new(configs)
}

#[test]
fn a_plan_only_runs_with_the_configs_it_was_computed_from() {
    let planned = planned(&seed_spec(), &seed_cluster()).unwrap();
    let same = edited_configs(&planned, |_| {});
    same.check_against(&planned.plan).unwrap();
    Planned::new(planned.plan.clone(), same).unwrap();

    let changed = edited_configs(&planned, |configs| {
        let config = configs.get_mut("k8s-3").unwrap();
        config.environment[1] = "TS_HOSTNAME=someone-else".into();
    });
    let err = changed.check_against(&planned.plan).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidExtensionConfig { reason, .. }
            if reason.contains("k8s-3") && reason.contains("differs")),
        "{err:?}"
    );
    let err = Planned::new(planned.plan.clone(), changed).unwrap_err();
    assert!(err.to_string().contains("plan again"), "{err}");

    let missing = edited_configs(&planned, |configs| {
        configs.remove("k8s-1");
    });
    let err = Planned::new(planned.plan.clone(), missing).unwrap_err();
    assert!(
        err.to_string().contains("k8s-1") && err.to_string().contains("missing"),
        "{err}"
    );

    let extra = edited_configs(&planned, |configs| {
        configs.insert("k8s-9".into(), tailscale_esc("k8s-9"));
    });
    let err = Planned::new(planned.plan.clone(), extra).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownNode { node } if node == "k8s-9"),
        "{err:?}"
    );
}

#[test]
fn a_plan_without_configs_refuses_any_config() {
    let facts = seed_cluster();
    let request = ExtensionRequest {
        profile: "iscsi-tools".into(),
        extensions: vec!["siderolabs/iscsi-tools".into()],
        ..ExtensionRequest::default()
    };
    let planned = plan(&seed_spec(), &facts, &FakeResolver, &request).unwrap();
    assert!(
        planned
            .plan
            .nodes
            .iter()
            .all(|node| node.extension.esc.is_none())
    );
    let given = NodeConfigs::new(BTreeMap::from([(
        "k8s-2".to_owned(),
        tailscale_esc("k8s-2"),
    )]));
    let err = Planned::new(planned.plan, given).unwrap_err();
    assert!(
        err.to_string().contains("k8s-2") && err.to_string().contains("does not have"),
        "{err}"
    );
}

#[test]
fn post_verify_steps_serialize_as_tagged_data() {
    let json = serde_json::to_value(tailscale_post_verify()).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"kind": "check", "checks": ["tailnet device online", "routes advertised"]},
            {"kind": "act", "action": "approve routes"},
            {"kind": "check", "checks": ["routes approved"]},
        ])
    );
    let back: Vec<PostVerifyStep> = serde_json::from_value(json).unwrap();
    assert_eq!(back, tailscale_post_verify());
}

/// The seed cluster with k8s-2 on an aws installer and k8s-3 on a metal SecureBoot one.
fn mixed_cluster() -> ClusterFacts {
    let mut facts = seed_cluster();
    for (node, name) in [(1, "aws-installer"), (2, "metal-installer-secureboot")] {
        let fact = &mut facts.nodes[node];
        let image = fact.install_image.as_deref().unwrap();
        fact.install_image = Some(image.replace("metal-installer", name));
    }
    facts
}

fn target_image(plan: &rollout_core::Plan, node: &str) -> String {
    plan.node(node).unwrap().to.install_image.clone().unwrap()
}

#[test]
fn each_node_keeps_its_own_platform_and_secureboot_flavour() {
    let plan = planned(&seed_spec(), &mixed_cluster()).unwrap().plan;
    let target =
        FakeResolver::id_for(&["siderolabs/i915", "siderolabs/mei", "siderolabs/tailscale"]);
    let expected = [
        ("k8s-1", "metal-installer"),
        ("k8s-2", "aws-installer"),
        ("k8s-3", "metal-installer-secureboot"),
    ];
    for (node, name) in expected {
        assert_eq!(
            target_image(&plan, node),
            format!("factory.talos.dev/{name}/{target}:v1.10.4"),
            "{node}"
        );
    }
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn the_specs_platform_and_secureboot_override_every_nodes_own() {
    let spec = RolloutSpec {
        platform: Some("gcp".into()),
        ..seed_spec()
    };
    let plan = planned(&spec, &mixed_cluster()).unwrap().plan;
    assert!(target_image(&plan, "k8s-2").contains("/gcp-installer/"));
    assert!(target_image(&plan, "k8s-3").contains("/gcp-installer-secureboot/"));
    let spec = RolloutSpec {
        secureboot: Some(false),
        ..seed_spec()
    };
    let plan = planned(&spec, &mixed_cluster()).unwrap().plan;
    assert!(target_image(&plan, "k8s-3").contains("/metal-installer/"));
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn a_node_without_a_factory_installer_gets_metal_without_secureboot_and_a_warning() {
    let mut facts = seed_cluster();
    facts.nodes[1].install_image = Some("ghcr.io/siderolabs/installer:v1.10.4".into());
    facts.nodes[2].install_image = None;
    let plan = planned(&seed_spec(), &facts).unwrap().plan;
    for node in ["k8s-2", "k8s-3"] {
        assert!(
            target_image(&plan, node).contains("/metal-installer/"),
            "{node}"
        );
    }
    assert_eq!(
        plan.warnings,
        [
            PlanWarning::InstallerFlavourAssumed {
                node: "k8s-2".into(),
                image: Some("ghcr.io/siderolabs/installer:v1.10.4".into()),
                platform: "metal".into(),
                secureboot: false,
            },
            PlanWarning::InstallerFlavourAssumed {
                node: "k8s-3".into(),
                image: None,
                platform: "metal".into(),
                secureboot: false,
            },
        ]
    );
    assert!(
        plan.warnings[0]
            .to_string()
            .contains("set the spec's platform")
    );
    // Both overrides given: nothing is assumed.
    let spec = RolloutSpec {
        platform: Some("aws".into()),
        secureboot: Some(true),
        ..seed_spec()
    };
    let plan = planned(&spec, &facts).unwrap().plan;
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert!(target_image(&plan, "k8s-3").contains("/aws-installer-secureboot/"));
}
