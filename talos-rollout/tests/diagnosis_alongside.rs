//! A failed node's diagnosis (which reads the extension's log) runs alongside the rollout:
//! a slow log read must not hold up the other nodes' steps that are already in flight.
//! Real time with short sim timings: gRPC calls to the sim are in flight throughout.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rollout_core::facts::NodeFacts;
use rollout_core::gate::{ClusterObservation, NodeObservation};
use rollout_core::machine::{BootProbe, LiveNode, Phase, RolloutEvent};
use rollout_core::{PortError, RolloutSpec};
use secrecy::SecretSlice;
use sim::Sim;
use sim::talos::Timings;
use support::SimClients;
use talos_rollout::adapters::{FactoryAdapter, TalosAdapter};
use talos_rollout::driver::Ports;
use talos_rollout::ports::{ConfigChange, HealthScope, InstallOutcome, TalosPort, TokioClock};
use talos_rollout::profiles::TailscaleProfile;
use talos_rollout::{Event, ExtensionRollout, RunEvent};

/// How long reading a service log takes: far longer than the healthy worker needs to finish.
const SLOW_LOG: Duration = Duration::from_secs(15);

/// The real Talos adapter, except that service logs take [`SLOW_LOG`] to read (a node whose
/// apid is slow to stream logs). A delay, not a node model: every answer is the sim's.
struct SlowLogs(TalosAdapter);

#[async_trait]
impl TalosPort for SlowLogs {
    async fn node_facts(&self, node: &str) -> Result<NodeFacts, PortError> {
        self.0.node_facts(node).await
    }
    async fn inspect(&self, node: &str) -> Result<LiveNode, PortError> {
        self.0.inspect(node).await
    }
    async fn observe(&self, node: &str) -> Result<NodeObservation, PortError> {
        self.0.observe(node).await
    }
    async fn cluster_health(
        &self,
        via: &str,
        scope: &HealthScope,
    ) -> Result<ClusterObservation, PortError> {
        self.0.cluster_health(via, scope).await
    }
    async fn read_machine_config(&self, node: &str) -> Result<SecretSlice<u8>, PortError> {
        self.0.read_machine_config(node).await
    }
    async fn apply_config_change(
        &self,
        node: &str,
        change: &ConfigChange,
    ) -> Result<(), PortError> {
        self.0.apply_config_change(node, change).await
    }
    async fn apply_machine_config(
        &self,
        node: &str,
        config: &SecretSlice<u8>,
    ) -> Result<(), PortError> {
        self.0.apply_machine_config(node, config).await
    }
    async fn install(&self, node: &str, image: &str) -> Result<InstallOutcome, PortError> {
        self.0.install(node, image).await
    }
    async fn reboot(&self, node: &str) -> Result<(), PortError> {
        self.0.reboot(node).await
    }
    async fn rollback(&self, node: &str) -> Result<(), PortError> {
        self.0.rollback(node).await
    }
    async fn probe_boot(&self, node: &str) -> Result<BootProbe, PortError> {
        self.0.probe_boot(node).await
    }
    async fn service_log_tail(
        &self,
        node: &str,
        service: &str,
        lines: usize,
    ) -> Result<Vec<String>, PortError> {
        tokio::time::sleep(SLOW_LOG).await;
        self.0.service_log_tail(node, service, lines).await
    }
}

#[tokio::test]
async fn a_slow_diagnosis_does_not_hold_up_the_other_workers_steps() {
    let timings = Timings {
        shutdown: Duration::from_millis(50),
        reboot: Duration::from_millis(200),
        boot: Duration::from_millis(100),
        install: Duration::ZERO,
        service_restart: Duration::from_millis(200),
    };
    let sim = Sim::builder()
        .control_planes(1)
        .workers(2)
        .timings(timings)
        .start()
        .await
        .unwrap();
    // k8s-2 comes back without the extension: it fails Verify while k8s-3 soaks.
    sim.faults()
        .node_returns_without_extension("k8s-2", "tailscale");
    let clients = SimClients::connect(&sim);
    let key = clients.mint_key(None).await;
    let SimClients {
        talos,
        factory,
        tailscale,
    } = clients;
    let mut spec = RolloutSpec {
        factory_host: factory.registry_host(),
        soak: Duration::from_secs(6),
        ..RolloutSpec::default()
    };
    spec.ordering.max_unavailable = 2;
    spec.timeouts.verify = Duration::from_secs(3);
    spec.timeouts.check_interval = Duration::from_millis(200);
    let ports = Ports {
        talos: Arc::new(SlowLogs(TalosAdapter::new(talos))),
        factory: Arc::new(FactoryAdapter::new(factory)),
        kube: None,
        clock: Arc::new(TokioClock),
    };
    let artifacts = tempfile::tempdir().unwrap();
    let (rollout, mut events) = ExtensionRollout::builder()
        .ports(ports)
        .profile(
            TailscaleProfile::new(tailscale)
                .auth_key(key)
                .routes(["10.43.0.0/16"]),
        )
        .cluster("sim")
        .nodes(["k8s-1", "k8s-2", "k8s-3"])
        .spec(spec)
        .artifacts(artifacts.path())
        .build()
        .unwrap();

    let summary = rollout.run().await.unwrap();
    let seen = support::drain_events(&mut events);

    let phase = |node: &str| {
        summary
            .nodes
            .iter()
            .find(|(name, _)| name == node)
            .map(|(_, phase)| *phase)
    };
    assert_eq!(phase("k8s-2"), Some(Phase::Halted), "{summary:?}");
    assert_eq!(phase("k8s-3"), Some(Phase::Done), "{summary:?}");
    let position = |wanted: &dyn Fn(&Event) -> bool| seen.iter().position(wanted).unwrap();
    let failed = position(
        &|e| matches!(e, Event::Rollout(RolloutEvent::NodeFailed { node, .. }) if node == "k8s-2"),
    );
    let healthy_done = position(
        &|e| matches!(e, Event::Rollout(RolloutEvent::PhaseChanged { node, to: Phase::Done, .. }) if node == "k8s-3"),
    );
    let diagnosis =
        position(&|e| matches!(e, Event::Run(RunEvent::Diagnosis(d)) if d.node == "k8s-2"));
    assert!(
        failed < healthy_done,
        "k8s-3 finished before k8s-2 failed, so this run proves nothing"
    );
    assert!(
        healthy_done < diagnosis,
        "k8s-3's steps waited for k8s-2's diagnosis"
    );
}
