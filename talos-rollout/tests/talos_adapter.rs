//! The Talos adapter against the simulated cluster: what it reads, and what it does not ask
//! a node whose version lacks it (the sim logs every COSI call with its resource type).
#![allow(clippy::unwrap_used)]

mod support;

use rollout_core::machine::BootProbe;
use sim::Sim;
use support::SimClients;
use talos_client::resources::{BootId, ImageFactorySchematic, ResourceKind};
use talos_rollout::adapters::TalosAdapter;
use talos_rollout::ports::TalosPort;

const NODE: &str = "k8s-2";

/// The resource types the sim was asked for on `node`.
fn resource_reads(sim: &Sim, node: &str) -> Vec<String> {
    sim.cluster()
        .received_calls()
        .into_iter()
        .filter(|call| call.node == [node])
        .filter_map(|call| call.resource_type)
        .collect()
}

/// How many calls `method` (a path suffix) the sim received for `node`.
fn calls(sim: &Sim, node: &str, method: &str) -> usize {
    sim.cluster()
        .received_calls()
        .iter()
        .filter(|call| call.node == [node] && call.method.ends_with(method))
        .count()
}

async fn sim_on(version: &str) -> (Sim, TalosAdapter) {
    let sim = Sim::builder().talos_version(version).start().await.unwrap();
    let adapter = TalosAdapter::new(SimClients::connect(&sim).talos);
    (sim, adapter)
}

#[tokio::test]
async fn nodes_before_1_14_are_never_asked_for_the_1_14_resources() {
    let (sim, adapter) = sim_on("v1.13.0").await;
    let facts = adapter.node_facts(NODE).await.unwrap();
    let live = adapter.inspect(NODE).await.unwrap();
    let probe = adapter.probe_boot(NODE).await.unwrap();
    adapter.observe(NODE).await.unwrap();

    let snapshot = sim.cluster().snapshot(NODE).unwrap();
    assert_eq!(facts.boot_id.as_deref(), Some(snapshot.boot_id.as_str()));
    assert_eq!(live.schematic_id, snapshot.schematic_id);
    assert_eq!(facts.schematic_id, snapshot.schematic_id);
    assert!(
        matches!(&probe, BootProbe::Up { boot_id, .. } if *boot_id == snapshot.boot_id),
        "{probe:?}"
    );
    let reads = resource_reads(&sim, NODE);
    assert!(
        !reads
            .iter()
            .any(|t| t == BootId::TYPE || t == ImageFactorySchematic::TYPE),
        "{reads:?}"
    );
}

#[tokio::test]
async fn nodes_on_1_14_give_their_boot_id_and_schematic_through_the_new_resources() {
    let (sim, adapter) = sim_on("v1.14.1").await;
    let facts = adapter.node_facts(NODE).await.unwrap();
    let live = adapter.inspect(NODE).await.unwrap();
    let observed = adapter.observe(NODE).await.unwrap();

    let snapshot = sim.cluster().snapshot(NODE).unwrap();
    assert_eq!(facts.boot_id.as_deref(), Some(snapshot.boot_id.as_str()));
    assert_eq!(facts.schematic_id, snapshot.schematic_id);
    assert_eq!(live.schematic_id, snapshot.schematic_id);
    assert_eq!(observed.schematic_id, snapshot.schematic_id);
    let reads = resource_reads(&sim, NODE);
    assert!(reads.iter().any(|t| t == BootId::TYPE), "{reads:?}");
    assert!(
        reads.iter().any(|t| t == ImageFactorySchematic::TYPE),
        "{reads:?}"
    );
    assert_eq!(calls(&sim, NODE, "/Read"), 0, "no kernel file read");
}

#[tokio::test]
async fn a_boot_probe_uses_the_version_the_adapter_already_knows() {
    let (sim, adapter) = sim_on("v1.14.1").await;
    adapter.inspect(NODE).await.unwrap();
    let versions = calls(&sim, NODE, "/Version");
    for _ in 0..3 {
        adapter.probe_boot(NODE).await.unwrap();
    }
    assert_eq!(
        calls(&sim, NODE, "/Version"),
        versions,
        "no Version per probe"
    );
    // A node it never saw: its version is read once, then known.
    adapter.probe_boot("k8s-3").await.unwrap();
    adapter.probe_boot("k8s-3").await.unwrap();
    assert_eq!(calls(&sim, "k8s-3", "/Version"), 1);
}
