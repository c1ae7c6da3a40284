//! Planning: the golden plan for the seed-shaped cluster and the planner's refusals.
#![allow(clippy::unwrap_used)]

mod support;

use rollout_core::plan::{NodeAction, PlanWarning};
use rollout_core::spec::TargetSchematic;
use rollout_core::{plan, version::TalosVersion};
use support::{FakeResolver, seed_cluster, seed_spec};

fn check_golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "golden {name} differs; rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}

/// Schematic IDs in these goldens come from the FAKE resolver in `support` (not the factory's ID).
#[test]
fn golden_plan_for_the_seed_cluster() {
    let plan = plan(&seed_spec(), &seed_cluster(), &FakeResolver).unwrap();
    check_golden("seed_plan.txt", &plan.to_string());
    check_golden(
        "seed_plan.json",
        &(serde_json::to_string_pretty(&plan).unwrap() + "\n"),
    );
}

#[test]
fn seed_plan_adds_tailscale_keeps_i915_and_mei_and_rolls_the_leader_last() {
    let plan = plan(&seed_spec(), &seed_cluster(), &FakeResolver).unwrap();
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
        assert_eq!(node.tailnet.as_ref().unwrap().routes, ["10.43.0.0/16"]);
    }
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let json = serde_json::to_string(&plan).unwrap();
    assert!(
        !json.contains(support::TEST_AUTH_KEY),
        "the plan must not carry the auth key"
    );
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
    let digest = rollout_core::esc::digest(&spec.extension_service_configs["k8s-1"]);
    facts.nodes[0]
        .extension_service_configs
        .insert("tailscale".into(), digest);
    let plan = plan(&spec, &facts, &FakeResolver).unwrap();
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
    let err = plan(&spec, &seed_cluster(), &FakeResolver).unwrap_err();
    assert!(err.to_string().contains("drops i915, mei"), "{err}");
    assert!(err.is_invalid_input());
    spec.allow_extension_removal = true;
    let plan = plan(&spec, &seed_cluster(), &FakeResolver).unwrap();
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
    let plan = plan(&spec, &seed_cluster(), &FakeResolver).unwrap();
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
    let mut spec = seed_spec();
    spec.extension_service_configs
        .insert("k8s-9".into(), support::tailscale_esc("k8s-9"));
    let err = plan(&spec, &seed_cluster(), &FakeResolver).unwrap_err();
    assert!(err.to_string().contains("k8s-9"));
}

/// The same cluster with the real offline schematic IDs (factory-client's canonical form).
#[test]
fn golden_plan_for_the_seed_cluster_with_real_schematic_ids() {
    use rollout_core::adapters::FactoryResolver;
    use rollout_core::plan::{SchematicRequest, SchematicResolver};
    let current = FactoryResolver
        .resolve(&SchematicRequest::Replace {
            yaml: "customization:\n  systemExtensions:\n    officialExtensions:\n      - siderolabs/i915\n      - siderolabs/mei\n",
        })
        .unwrap();
    let mut facts = seed_cluster();
    for node in &mut facts.nodes {
        node.schematic_id = Some(current.id.clone());
        node.install_image = Some(format!(
            "factory.talos.dev/metal-installer/{}:v1.10.4",
            current.id
        ));
    }
    let plan = plan(&seed_spec(), &facts, &FactoryResolver).unwrap();
    assert_eq!(
        plan.nodes[0].to.extensions,
        ["siderolabs/i915", "siderolabs/mei", "siderolabs/tailscale"]
    );
    check_golden("seed_plan_factory.txt", &plan.to_string());
}

#[test]
fn debug_output_of_the_spec_and_the_built_config_never_shows_the_auth_key() {
    let spec = seed_spec();
    let debug = format!("{spec:?}");
    assert!(debug.contains("k8s-1"), "the spec is printed: {debug}");
    assert!(!debug.contains(support::TEST_AUTH_KEY), "{debug}");
    let builder = rollout_core::tailscale::TailscaleEscBuilder::new(
        rollout_core::tailscale::TailscaleAuth::auth_key(support::TEST_AUTH_KEY.to_owned().into()),
    )
    .auth_once(true);
    let built = builder.build().unwrap();
    for debug in [format!("{builder:?}"), format!("{built:?}")] {
        assert!(!debug.contains(support::TEST_AUTH_KEY), "{debug}");
    }
}
