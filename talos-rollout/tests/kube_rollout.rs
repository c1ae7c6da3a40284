//! The front door with a Kubernetes API (the sim's, through kube-rs): the ≥ 1.13 path
//! (install, cordon, drain, reboot, uncordon), a failed drain, and the cluster Lease that
//! keeps a second rollout off the cluster. Real time with short sim timings.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use rollout_core::RolloutSpec;
use rollout_core::machine::{Phase, RolloutEvent};
use sdk_support::backoff::Backoff;
use sim::Sim;
use sim::talos::Timings;
use support::{NODES, ROUTE, SimClients};
use talos_rollout::adapters::kube::{DrainOptions, KubeconfigSource, LeaseError, OwnPod, connect};
use talos_rollout::driver::EventStream;
use talos_rollout::profiles::TailscaleProfile;
use talos_rollout::{Error, Event, ExtensionRollout};

async fn sim(version: &str) -> Sim {
    let timings = Timings {
        shutdown: Duration::from_millis(50),
        reboot: Duration::from_millis(200),
        boot: Duration::from_millis(100),
        install: Duration::ZERO,
        service_restart: Duration::from_millis(200),
    };
    Sim::builder()
        .talos_version(version)
        .timings(timings)
        .start()
        .await
        .unwrap()
}

/// The front door on `sim` with its Kubernetes API, artifacts in `artifacts`.
async fn rollout(sim: &Sim, artifacts: &std::path::Path) -> (ExtensionRollout, EventStream) {
    rollout_with(sim, artifacts, |_| {}).await
}

/// [`rollout`] with the spec changed by `edit`.
async fn rollout_with(
    sim: &Sim,
    artifacts: &std::path::Path,
    edit: impl FnOnce(&mut RolloutSpec),
) -> (ExtensionRollout, EventStream) {
    let clients = SimClients::connect(sim);
    let key = clients
        .mint_key(Some(Duration::from_secs(7 * 24 * 3600)))
        .await;
    let kube = connect(&KubeconfigSource::Yaml(sim.kubeconfig().unwrap()))
        .await
        .unwrap();
    let mut spec = RolloutSpec {
        soak: Duration::from_secs(1),
        ..RolloutSpec::default()
    };
    spec.timeouts.check_interval = Duration::from_millis(200);
    spec.timeouts.drain = Duration::from_secs(10);
    edit(&mut spec);
    let drain = DrainOptions::default()
        .timeout(Duration::from_secs(2))
        .pacing(
            Backoff::new(Duration::from_millis(50), Duration::from_millis(200)),
            Duration::from_millis(50),
        )
        .own_pod(None::<OwnPod>);
    ExtensionRollout::builder()
        .talos(clients.talos)
        .factory(clients.factory)
        .profile(
            TailscaleProfile::new(clients.tailscale)
                .auth_key(key)
                .routes([ROUTE]),
        )
        .kubernetes(kube)
        .drain_options(drain)
        .cluster("sim")
        .nodes(NODES)
        .spec(spec)
        .artifacts(artifacts)
        .build()
        .unwrap()
}

/// The events sent so far.
fn drained(events: &mut EventStream) -> Vec<Event> {
    support::drain_events(events)
}

/// Every event of a finished run (the stream may still be delivering the last ones).
async fn all_events(events: &mut EventStream) -> Vec<Event> {
    let mut all = Vec::new();
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(500), events.next()).await
    {
        all.push(event);
    }
    all
}

fn phases_of(events: &[Event], node: &str) -> Vec<Phase> {
    let mut phases: Vec<Phase> = support::rollout_events(events)
        .into_iter()
        .filter_map(|e| match e {
            RolloutEvent::PhaseChanged { node: n, to, .. } if n == node => Some(to),
            _ => None,
        })
        .collect();
    phases.dedup();
    phases
}

fn unschedulable(sim: &Sim, node: &str) -> bool {
    let node = sim.kube().node(node).unwrap();
    node.spec.and_then(|s| s.unschedulable).unwrap_or(false)
}

fn evictions(sim: &Sim) -> usize {
    sim.kube()
        .received_requests()
        .iter()
        .filter(|r| r.starts_with("POST") && r.contains("/eviction"))
        .count()
}

#[tokio::test]
async fn on_talos_1_14_every_node_is_installed_cordoned_drained_rebooted_and_uncordoned() {
    let sim = sim("v1.14.1").await;
    let artifacts = tempfile::tempdir().unwrap();
    let (rollout, mut events) = rollout(&sim, artifacts.path()).await;

    let summary = rollout.run().await.unwrap();

    let events = all_events(&mut events).await;
    assert!(summary.succeeded(), "{summary:?}");
    for node in NODES {
        let phases = phases_of(&events, node);
        let at = |phase| {
            phases
                .iter()
                .position(|p| *p == phase)
                .unwrap_or_else(|| panic!("{node}: no {phase} in {phases:?}"))
        };
        assert!(at(Phase::Install) < at(Phase::Cordon), "{node}: {phases:?}");
        assert!(at(Phase::Cordon) < at(Phase::Drain), "{node}: {phases:?}");
        assert!(at(Phase::Drain) < at(Phase::Reboot), "{node}: {phases:?}");
        assert!(
            at(Phase::Verify) < at(Phase::Uncordon),
            "{node}: {phases:?}"
        );
        assert!(!unschedulable(&sim, node), "{node} left cordoned");
    }
    assert!(evictions(&sim) > 0, "no pod was evicted");
}

#[tokio::test]
async fn on_the_legacy_path_the_rollout_never_drains_a_node_itself() {
    let sim = sim("v1.12.6").await;
    let artifacts = tempfile::tempdir().unwrap();
    let (rollout, mut events) = rollout(&sim, artifacts.path()).await;

    let summary = rollout.run().await.unwrap();

    let events = all_events(&mut events).await;
    assert!(summary.succeeded(), "{summary:?}");
    for node in NODES {
        let phases = phases_of(&events, node);
        assert!(!phases.contains(&Phase::Cordon), "{node}: {phases:?}");
        assert!(!phases.contains(&Phase::Drain), "{node}: {phases:?}");
    }
    assert_eq!(evictions(&sim), 0);
}

#[tokio::test]
async fn a_failed_drain_uncordons_the_node_and_halts_before_its_reboot() {
    let sim = sim("v1.14.1").await;
    sim.faults().pdb_never_allows("kube-system", "coredns");
    let artifacts = tempfile::tempdir().unwrap();
    let (rollout, mut events) = rollout(&sim, artifacts.path()).await;
    let boots_before: Vec<u32> = NODES
        .iter()
        .map(|n| sim.cluster().snapshot(n).unwrap().boots)
        .collect();

    let summary = rollout.run().await.unwrap();

    let events = all_events(&mut events).await;
    let halted = summary.halted_by.clone().unwrap();
    let failure = support::rollout_events(&events)
        .into_iter()
        .find_map(|e| match e {
            RolloutEvent::NodeFailed { node, failure } if node == halted => Some(failure),
            _ => None,
        })
        .unwrap();
    assert_eq!(failure.phase, Phase::Drain);
    assert!(
        failure.reason.contains("PodDisruptionBudget coredns"),
        "{}",
        failure.reason
    );
    assert_eq!(
        phases_of(&events, &halted).last(),
        Some(&Phase::Halted),
        "{:?}",
        phases_of(&events, &halted)
    );
    assert!(phases_of(&events, &halted).contains(&Phase::Uncordon));
    for (node, before) in NODES.iter().zip(boots_before) {
        assert!(!unschedulable(&sim, node), "{node} left cordoned");
        assert_eq!(
            sim.cluster().snapshot(node).unwrap().boots,
            before,
            "{node} rebooted"
        );
    }
}

#[tokio::test]
async fn a_second_rollout_on_the_same_cluster_is_refused_by_the_lease() {
    let sim = sim("v1.14.1").await;
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, mut first_events) = rollout(&sim, first_dir.path()).await;
    let (second, _second_events) = rollout(&sim, second_dir.path()).await;

    let running = tokio::spawn(async move { first.run().await });
    loop {
        let holding = drained(&mut first_events).iter().any(|e| {
            matches!(e, Event::Run(talos_rollout::RunEvent::Note { message }) if message.contains("holding the cluster lease"))
        });
        if holding {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = second.run().await.unwrap_err();

    assert!(
        matches!(&refused, Error::Lease(lease) if matches!(**lease, LeaseError::Held { .. })),
        "{refused}"
    );
    assert!(refused.is_lock_held());
    assert!(
        refused
            .to_string()
            .contains(&first_dir.path().display().to_string()),
        "the refusal names the holding rollout: {refused}"
    );
    assert!(running.await.unwrap().unwrap().succeeded());
    assert!(
        !second_dir.path().join("sim").join("journal.jsonl").exists(),
        "the refused rollout changed nothing"
    );
}

#[tokio::test]
async fn a_node_not_ready_in_kubernetes_fails_verification_and_stays_cordoned() {
    let sim = sim("v1.14.1").await;
    let artifacts = tempfile::tempdir().unwrap();
    let (rollout, mut events) = rollout_with(&sim, artifacts.path(), |spec| {
        spec.timeouts.verify = Duration::from_secs(3);
    })
    .await;
    let first = rollout.plan().await.unwrap().nodes[0].clone();
    sim.faults().kubelet_not_ready(first.nodename.clone(), true);

    let summary = rollout.run().await.unwrap();

    let events = all_events(&mut events).await;
    assert_eq!(summary.halted_by.as_deref(), Some(first.node.as_str()));
    let failure = support::rollout_events(&events)
        .into_iter()
        .find_map(|e| match e {
            RolloutEvent::NodeFailed { node, failure } if node == first.node => Some(failure),
            _ => None,
        })
        .unwrap();
    assert_eq!(failure.phase, Phase::Verify, "{}", failure.reason);
    let failing = failure.last_verdict.unwrap().failing_checks();
    assert!(
        failing
            .iter()
            .any(|check| check.contains("kubernetes api node ready")),
        "{failing:?}"
    );
    assert!(
        unschedulable(&sim, &first.nodename),
        "a node that is not Ready stays cordoned"
    );
}
