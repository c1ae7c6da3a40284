//! Benchmarks of the two pure hot paths: planning a large cluster, and stepping the sans-IO
//! state machine through a whole rollout of it (every action answered at once, successfully).
//!
//! Planning uses the tests' deterministic fake resolver (the factory's offline schematic ID
//! lives in talos-rollout's `FactoryResolver`) and their Tailscale-shaped request.
//!
//! Run with `cargo bench -p rollout-core --bench rollout`.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rollout_core::gate::GateVerdict;
use rollout_core::machine::{
    Action, BootProbe, LiveNode, MachineOptions, NodeRequest, Observation, Outcome, Rollout,
};
use rollout_core::plan::Plan;
use rollout_core::{ClusterFacts, NodeFacts, NodeRole, RolloutSpec, plan};
use support::{FakeResolver, tailscale_request};

const CONTROL_PLANES: usize = 3;

fn cluster(nodes: usize) -> ClusterFacts {
    let facts = (1..=nodes)
        .map(|i| NodeFacts {
            node: format!("node-{i}"),
            nodename: format!("node-{i}"),
            role: if i <= CONTROL_PLANES {
                NodeRole::ControlPlane
            } else {
                NodeRole::Worker
            },
            etcd_leader: i == 1,
            version: "v1.10.4".into(),
            schematic_id: None,
            extensions: vec!["i915".into(), "mei".into()],
            schematic_extensions: Some(vec!["siderolabs/i915".into(), "siderolabs/mei".into()]),
            schematic_yaml: None,
            install_image: Some("ghcr.io/siderolabs/installer:v1.10.4".into()),
            extension_service_configs: BTreeMap::new(),
            boot_id: Some(format!("boot-{i}-0")),
        })
        .collect();
    ClusterFacts {
        cluster: "bench".into(),
        nodes: facts,
    }
}

fn spec() -> RolloutSpec {
    let mut spec = RolloutSpec::default();
    spec.ordering.max_unavailable = 10;
    spec
}

/// What a healthy node answers: its pre-rollout state on inspection, a new boot after the reboot.
fn answer(plan: &Plan, node: &str, request: &NodeRequest) -> Outcome {
    let passed = || {
        Outcome::GateChecked(GateVerdict {
            passed: true,
            checks: Vec::new(),
        })
    };
    match request {
        NodeRequest::Inspect => {
            let from = &plan.node(node).unwrap().from;
            Outcome::Inspected(LiveNode {
                boot_id: Some("boot-before".into()),
                version: from.version.clone(),
                schematic_id: from.schematic_id.clone(),
                install_image: from.install_image.clone(),
                extension_service_configs: BTreeMap::new(),
            })
        }
        NodeRequest::CheckGate { .. } => passed(),
        NodeRequest::ProbeBoot => Outcome::BootProbed(BootProbe::Up {
            boot_id: "boot-after".into(),
            ready: true,
        }),
        _ => Outcome::Done {
            reboot_started: false,
        },
    }
}

/// Runs the machine to the end; returns how many observations it handled.
fn roll_out(plan: &Plan) -> usize {
    let mut now = Instant::now();
    let mut rollout = Rollout::new(plan.clone(), MachineOptions::default(), now);
    let mut handled = 0;
    while !rollout.is_finished() {
        let mut actions = Vec::new();
        while let Some(action) = rollout.poll_action(now) {
            actions.push(action);
        }
        while rollout.poll_event().is_some() {}
        while rollout.poll_journal().is_some() {}
        if actions.is_empty() {
            now = rollout.poll_timeout().unwrap();
            continue;
        }
        for action in actions {
            let observation = match action {
                Action::EnsureSchematic { schematic, .. } => Observation::SchematicEnsured {
                    expected_id: schematic.id.clone(),
                    result: Ok(schematic.id),
                },
                Action::Node { node, request, .. } => Observation::Node {
                    result: Ok(answer(plan, &node, &request)),
                    step: request.step(),
                    node,
                },
            };
            rollout.handle(observation, now);
            handled += 1;
        }
    }
    handled
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("rollout");
    group.sample_size(20);
    for nodes in [10, 100] {
        let facts = cluster(nodes);
        let spec = spec();
        let request = tailscale_request(&facts);
        group.bench_with_input(BenchmarkId::new("plan", nodes), &nodes, |b, _| {
            b.iter(|| plan(&spec, &facts, &FakeResolver, &request).unwrap());
        });
        let planned = plan(&spec, &facts, &FakeResolver, &request).unwrap().plan;
        group.bench_with_input(
            BenchmarkId::new("machine_to_done", nodes),
            &nodes,
            |b, _| b.iter(|| roll_out(&planned)),
        );
    }
    // The figure `cargo xtask bench` reports: observations handled per second while a
    // 1000-node rollout runs to the end.
    let facts = cluster(1000);
    let request = tailscale_request(&facts);
    let planned = plan(&spec(), &facts, &FakeResolver, &request).unwrap().plan;
    let steps = roll_out(&planned);
    group.throughput(Throughput::Elements(u64::try_from(steps).unwrap()));
    group.sample_size(10);
    group.bench_with_input(BenchmarkId::new("machine_steps", 1000), &1000, |b, _| {
        b.iter(|| roll_out(&planned))
    });
    group.finish();
}

criterion_group!(rollout_benches, benches);
criterion_main!(rollout_benches);
