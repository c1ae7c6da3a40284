//! Gates: built-in conditions against observations, combinators, the stage gates with the
//! profile's named checks and the user gates.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use rollout_core::gate::{
    All, CheckResult, ClusterObservation, ConditionExt, EtcdMemberObservation, Gate, GateStage,
    NodeObservation, Observed, ServiceObservation, conditions, stage_gate,
};
use rollout_core::plan::{NodePlan, Plan};
use support::{
    DEVICE_ONLINE, ROUTES_ADVERTISED, ROUTES_APPROVED, seed_cluster, seed_spec, tailscale_plan,
};

fn seed_plan() -> Plan {
    tailscale_plan(&seed_spec(), &seed_cluster())
}

fn upgraded(node: &NodePlan) -> NodeObservation {
    let esc = node.extension.esc.clone().unwrap();
    NodeObservation {
        version: node.to.version.clone(),
        schematic_id: node.to.schematic_id.clone(),
        extensions: vec!["i915".into(), "mei".into(), "tailscale".into()],
        esc_configured: BTreeMap::from([(esc.name.clone(), esc.digest.clone())]),
        esc_applied: vec![esc.name],
        services: BTreeMap::from([(
            "ext-tailscale".into(),
            ServiceObservation {
                running: true,
                healthy: true,
            },
        )]),
        ip_forward: Some(true),
        machine_ready: true,
        kubernetes_ready: Some(true),
    }
}

#[test]
fn verify_passes_on_an_upgraded_node_and_names_what_is_missing_otherwise() {
    let plan = seed_plan();
    let node = &plan.nodes[0];
    let gate = stage_gate(GateStage::Verify, node, 3, &plan.settings);
    let good = Observed {
        node: Some(upgraded(node)),
        ..Observed::default()
    };
    assert!(gate.evaluate(node, &good).passed);

    let mut missing = upgraded(node);
    missing.extensions.retain(|e| e != "tailscale");
    missing.ip_forward = Some(false);
    let verdict = gate.evaluate(
        node,
        &Observed {
            node: Some(missing),
            ..Observed::default()
        },
    );
    assert!(!verdict.passed);
    let failing = verdict.failing();
    assert!(
        failing.contains("extension siderolabs/tailscale present")
            && failing.contains("ip_forward"),
        "{failing}"
    );
    assert!(!failing.contains("target schematic"), "{failing}");
}

#[test]
fn precheck_needs_full_etcd_membership() {
    let plan = seed_plan();
    let node = &plan.nodes[0];
    let gate = stage_gate(GateStage::Precheck, node, 3, &plan.settings);
    let member = |name: &str| EtcdMemberObservation {
        name: name.into(),
        healthy: true,
    };
    let two = ClusterObservation {
        health: Ok(()),
        etcd_members: vec![member("k8s-1"), member("k8s-2")],
    };
    let verdict = gate.evaluate(
        node,
        &Observed {
            cluster: Some(two),
            ..Observed::default()
        },
    );
    assert!(
        verdict.failing().contains("2 members, expected 3"),
        "{}",
        verdict.failing()
    );
}

#[test]
fn rolling_back_a_control_plane_node_waits_for_cluster_and_etcd_health_like_the_rollout() {
    let plan = seed_plan();
    let control_plane = plan
        .nodes
        .iter()
        .find(|n| n.role == rollout_core::NodeRole::ControlPlane)
        .unwrap();
    let gate = stage_gate(GateStage::RollbackVerify, control_plane, 3, &plan.settings);
    assert!(gate.condition().needs().cluster);
    let back = NodeObservation {
        version: control_plane.from.version.clone(),
        schematic_id: control_plane.from.schematic_id.clone(),
        ..upgraded(control_plane)
    };
    let member = |name: &str, healthy| EtcdMemberObservation {
        name: name.into(),
        healthy,
    };
    let observed = |healthy| Observed {
        node: Some(back.clone()),
        cluster: Some(ClusterObservation {
            health: Ok(()),
            etcd_members: vec![
                member("k8s-1", true),
                member("k8s-2", true),
                member("k8s-3", healthy),
            ],
        }),
        ..Observed::default()
    };
    assert!(gate.evaluate(control_plane, &observed(true)).passed);
    let verdict = gate.evaluate(control_plane, &observed(false));
    assert!(!verdict.passed);
    assert!(verdict.failing().contains("etcd"), "{}", verdict.failing());
}

fn named(results: &[(&str, bool)]) -> Observed {
    Observed {
        named: results
            .iter()
            .map(|(name, passed)| {
                let result = CheckResult {
                    name: (*name).to_owned(),
                    passed: *passed,
                    detail: if *passed { "ok" } else { "not yet" }.to_owned(),
                };
                ((*name).to_owned(), result)
            })
            .collect(),
        ..Observed::default()
    }
}

#[test]
fn a_post_verify_gate_checks_the_named_checks_of_its_own_step() {
    let plan = seed_plan();
    let node = &plan.nodes[0];
    let first = stage_gate(GateStage::PostVerify(0), node, 3, &plan.settings);
    assert_eq!(
        first.condition().needs().named,
        [DEVICE_ONLINE, ROUTES_ADVERTISED]
    );
    assert!(
        !first.condition().needs().node,
        "the profile's checks need no node observation"
    );
    assert!(
        first
            .evaluate(
                node,
                &named(&[(DEVICE_ONLINE, true), (ROUTES_ADVERTISED, true)])
            )
            .passed
    );
    let verdict = first.evaluate(node, &named(&[(DEVICE_ONLINE, true)]));
    assert_eq!(
        verdict.failing(),
        "routes advertised: not met (not evaluated)"
    );

    let last = stage_gate(GateStage::PostVerify(2), node, 3, &plan.settings);
    assert_eq!(last.condition().needs().named, [ROUTES_APPROVED]);
    let verdict = last.evaluate(node, &named(&[(ROUTES_APPROVED, false)]));
    assert_eq!(verdict.failing(), "routes approved: not met (not yet)");
}

#[test]
fn soak_repeats_verify_and_adds_the_profiles_soak_checks() {
    let plan = seed_plan();
    let node = &plan.nodes[0];
    let soak = stage_gate(GateStage::Soak, node, 3, &plan.settings);
    assert_eq!(soak.condition().needs().named, [DEVICE_ONLINE]);
    let mut observed = named(&[(DEVICE_ONLINE, true)]);
    observed.node = Some(upgraded(node));
    assert!(soak.evaluate(node, &observed).passed);
    observed.named.clear();
    let verdict = soak.evaluate(node, &observed);
    assert_eq!(
        verdict.failing(),
        "tailnet device online: not met (not evaluated)"
    );
}

#[test]
fn user_gates_named_in_the_spec_join_their_stage() {
    let mut spec = seed_spec();
    spec.gates.precheck = vec!["backups fresh".into()];
    spec.gates.verify = vec!["ingress answers".into()];
    let plan = tailscale_plan(&spec, &seed_cluster());
    let node = &plan.nodes[0];
    let needs = |stage| {
        stage_gate(stage, node, 3, &plan.settings)
            .condition()
            .needs()
            .named
    };
    assert_eq!(needs(GateStage::Precheck), ["backups fresh"]);
    assert_eq!(needs(GateStage::Verify), ["ingress answers"]);
    let mut observed = named(&[("ingress answers", false)]);
    observed.node = Some(upgraded(node));
    let verdict = stage_gate(GateStage::Verify, node, 3, &plan.settings).evaluate(node, &observed);
    assert_eq!(verdict.failing(), "ingress answers: not met (not yet)");
}

#[test]
fn combinators_follow_boolean_logic_and_report_every_check() {
    let plan = seed_plan();
    let node = &plan.nodes[0];
    // The machine is not ready yet, but ip_forward is on.
    let mut observation = upgraded(node);
    observation.machine_ready = false;
    let observed = Observed {
        node: Some(observation),
        ..Observed::default()
    };
    let passes = |condition: All| Gate::new("g", condition).evaluate(node, &observed).passed;
    let ready = || conditions::machine_ready();
    let forward = || conditions::ip_forward();
    assert!(!passes(All(vec![ready().and(forward()).boxed()])));
    assert!(!passes(All(vec![forward().and(ready()).boxed()])));
    assert!(passes(All(vec![ready().or(forward()).boxed()])));
    assert!(passes(All(vec![forward().or(ready()).boxed()])));
    assert!(!passes(All(vec![ready().or(forward().not()).boxed()])));
    assert!(passes(All(vec![ready().not().boxed()])));
    assert!(!passes(All(vec![forward().not().boxed()])));
    let verdict = Gate::new("both", ready().and(forward())).evaluate(node, &observed);
    let names: Vec<&str> = verdict.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["machine running and ready", "ip_forward = 1"]);
    assert!(
        verdict.failing().contains("machine running and ready"),
        "{}",
        verdict.failing()
    );
}
