//! Gates: built-in conditions against observations, combinators, and waiting with a timeout.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rollout_core::gate::{
    All, ClusterObservation, ConditionExt, DeviceObservation, EtcdMemberObservation, Gate,
    NodeObservation, Observed, ServiceObservation, conditions, stage_gate,
};
use rollout_core::machine::GateStage;
use rollout_core::plan;
use rollout_core::plan::{NodePlan, Plan};
use rollout_core::ports::TokioClock;
use support::{FakeResolver, seed_cluster, seed_spec};

fn seed_plan() -> Plan {
    plan(&seed_spec(), &seed_cluster(), &FakeResolver).unwrap()
}

fn upgraded(node: &NodePlan) -> NodeObservation {
    let esc = node.esc.clone().unwrap();
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
fn tailnet_gates_read_the_device() {
    let plan = seed_plan();
    let node = &plan.nodes[0];
    let device = DeviceObservation {
        hostname: "k8s-2".into(),
        online: true,
        advertised_routes: vec!["10.43.0.0/16".into()],
        enabled_routes: vec![],
    };
    let observed = Observed {
        device: Some(Some(device)),
        ..Observed::default()
    };
    assert!(
        stage_gate(GateStage::TailnetDevice, node, 3, &plan.settings)
            .evaluate(node, &observed)
            .passed
    );
    let routes =
        stage_gate(GateStage::TailnetRoutes, node, 3, &plan.settings).evaluate(node, &observed);
    assert!(routes.failing().contains("not approved: 10.43.0.0/16"));
    let none = Observed {
        device: Some(None),
        ..Observed::default()
    };
    assert!(
        !stage_gate(GateStage::TailnetDevice, node, 3, &plan.settings)
            .evaluate(node, &none)
            .passed
    );
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

#[tokio::test(start_paused = true)]
async fn wait_polls_until_the_condition_holds_and_times_out_otherwise() {
    let plan = seed_plan();
    let node = plan.nodes[0].clone();
    let calls = Arc::new(AtomicU32::new(0));
    let gate = Gate::new("ready", conditions::machine_ready())
        .timeout(Duration::from_secs(60))
        .interval(Duration::from_secs(5));
    let observe = {
        let calls = calls.clone();
        let node = node.clone();
        move || {
            let ready = calls.fetch_add(1, Ordering::SeqCst) >= 3;
            let mut observation = upgraded(&node);
            observation.machine_ready = ready;
            async move {
                Observed {
                    node: Some(observation),
                    ..Observed::default()
                }
            }
        }
    };
    let started = tokio::time::Instant::now();
    gate.wait(&node, &TokioClock, observe).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(started.elapsed(), Duration::from_secs(15));

    let never = Gate::new("never", conditions::machine_ready())
        .timeout(Duration::from_secs(20))
        .interval(Duration::from_secs(5));
    let err = never
        .wait(&node, &TokioClock, || async { Observed::default() })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("node not observed"), "{err}");
}
