//! Administering the cluster over the tailnet, end to end on the sim: the Tailscale
//! profile adds each node's MagicDNS name to its certSANs and proves the Talos API
//! reachable by that name with full TLS verification; without the edit the proof fails
//! with a TLS name mismatch; off the tailnet it is reported, not failed. Real time with
//! short timings: the probes dial real sockets.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use rollout_core::RolloutSpec;
use rollout_core::machine::{Phase, RolloutEvent, Summary};
use sim::Sim;
use sim::tailnet::TailnetOptions;
use sim::talos::Timings;
use support::{ROUTE, SimClients};
use talos_client::TalosClient;
use talos_client::config::TalosConfig;
use talos_client::machine_config::{CertSans, ConfigDocuments};
use talos_rollout::adapters::TalosAdapter;
use talos_rollout::profiles::TailscaleProfile;
use talos_rollout::profiles::tailscale::{
    ConnectivityProbe, EmergencyNode, Health, NOT_ON_TAILNET, ProbeOutcome, TALOS_API_OVER_TAILNET,
    TailnetAdapter, TailnetPresence, check_health, probe_connectivity, write_emergency_configs,
};
use talos_rollout::{Event, ExtensionRollout};

const FAST: Timings = Timings {
    shutdown: Duration::from_millis(20),
    reboot: Duration::from_millis(200),
    boot: Duration::from_millis(50),
    service_restart: Duration::from_millis(200),
    install: Duration::ZERO,
};

struct Outcome {
    sim: Sim,
    clients: SimClients,
    summary: Summary,
    events: Vec<Event>,
}

/// Rolls Tailscale onto a one-node sim; `cert_sans` turns the certSANs edit on,
/// `on_tailnet` is what the probe assumes about this machine.
async fn roll(cert_sans: bool, on_tailnet: bool) -> Outcome {
    let sim = Sim::builder()
        .control_planes(1)
        .workers(1)
        .timings(FAST)
        .tailnet(TailnetOptions {
            appear_delay: Duration::from_millis(100),
            ..TailnetOptions::default()
        })
        .start()
        .await
        .unwrap();
    let clients = SimClients::connect(&sim);
    let key = clients.mint_key(None).await;
    let probe = probe(&sim, on_tailnet);
    let mut profile = TailscaleProfile::new(clients.tailscale.clone())
        .auth_key(key)
        .routes([ROUTE])
        .connectivity(probe);
    if cert_sans {
        profile = profile.tailnet_cert_sans(Arc::new(TalosAdapter::new(clients.talos.clone())));
    }
    let mut spec = RolloutSpec {
        soak: Duration::from_millis(200),
        ..RolloutSpec::default()
    };
    spec.timeouts.check_interval = Duration::from_millis(100);
    spec.timeouts.post_verify = Duration::from_secs(4);
    let artifacts = tempfile::tempdir().unwrap();
    let (rollout, mut events) = ExtensionRollout::builder()
        .talos(clients.talos.clone())
        .factory(clients.factory.clone())
        .profile(profile)
        .cluster("sim")
        .nodes(["k8s-1", "k8s-2"])
        .spec(spec)
        .artifacts(artifacts.path())
        .build()
        .unwrap();
    let summary = rollout.run().await.unwrap();
    let mut seen = Vec::new();
    while let Some(Some(event)) = events.next().now_or_never() {
        seen.push(event);
    }
    Outcome {
        sim,
        clients,
        summary,
        events: seen,
    }
}

/// The probe a machine on (or off) the tailnet uses, dialling the sim's nodes.
fn probe(sim: &Sim, on_tailnet: bool) -> ConnectivityProbe {
    let identity = sim
        .talosconfig()
        .unwrap()
        .context(None)
        .unwrap()
        .identity()
        .clone();
    let dns = sim.tailnet_dns();
    ConnectivityProbe::new(identity)
        .presence(TailnetPresence::Assume(on_tailnet))
        .resolver(Arc::new(move || dns.hosts()))
        .timeout(Duration::from_secs(2))
}

fn failure(events: &[Event]) -> Option<(Phase, String)> {
    support::rollout_events(events)
        .into_iter()
        .find_map(|event| match event {
            RolloutEvent::NodeFailed { failure, .. } => Some((failure.phase, failure.reason)),
            _ => None,
        })
}

#[tokio::test]
async fn the_magicdns_name_is_added_to_cert_sans_and_the_talos_api_proven_reachable_by_it() {
    let outcome = roll(true, true).await;
    assert!(
        outcome.summary.succeeded(),
        "{:?}",
        failure(&outcome.events)
    );
    let addresses = outcome.sim.tailnet_addresses("k8s-1").unwrap();
    let config = outcome.sim.cluster().snapshot("k8s-1").unwrap().config;
    let documents = ConfigDocuments::parse(&config).unwrap();
    let expected = [
        addresses.fqdn.clone(),
        addresses.ipv4.to_string(),
        addresses.ipv6.to_string(),
    ];
    assert_eq!(documents.cert_sans(CertSans::Machine), expected);
    assert_eq!(documents.cert_sans(CertSans::ApiServer), expected);
    assert_eq!(
        outcome.sim.cluster().snapshot("k8s-1").unwrap().boots,
        2,
        "one reboot for the upgrade, none for the certSANs"
    );
    let worker =
        ConfigDocuments::parse(&outcome.sim.cluster().snapshot("k8s-2").unwrap().config).unwrap();
    assert_eq!(worker.cert_sans(CertSans::Machine).len(), 3);
    assert!(worker.cert_sans(CertSans::ApiServer).is_empty());

    // status: the same probes, per node.
    let nodes = ["k8s-1".to_owned(), "k8s-2".to_owned()];
    let clients = &outcome.clients;
    let mut round = check_health(&clients.talos, &clients.tailscale, &nodes, "tailscale").await;
    let tailnet = TailnetAdapter::new(clients.tailscale.clone());
    probe_connectivity(&mut round, &probe(&outcome.sim, true), &tailnet).await;
    assert_eq!(round.health, Health::Healthy, "{round:#?}");
    for node in &round.nodes {
        assert!(
            matches!(node.connectivity[0].outcome, ProbeOutcome::Reached { .. }),
            "{node:#?}"
        );
    }
    let json = serde_json::to_value(&round).unwrap();
    assert_eq!(json["nodes"][0]["connectivity"][0]["outcome"], "reached");
}

#[tokio::test]
async fn the_emergency_talosconfig_reaches_every_node_by_its_magicdns_name() {
    let outcome = roll(true, true).await;
    assert!(
        outcome.summary.succeeded(),
        "{:?}",
        failure(&outcome.events)
    );
    let dir = tempfile::tempdir().unwrap();
    let config = outcome.sim.talosconfig().unwrap();
    let identity = config.context(None).unwrap().identity().clone();
    let nodes = [("k8s-1", true), ("k8s-2", false)].map(|(name, control_plane)| EmergencyNode {
        node: name.to_owned(),
        hostname: name.to_owned(),
        control_plane,
    });
    let tailnet = TailnetAdapter::new(outcome.clients.tailscale.clone());
    let written = write_emergency_configs(
        dir.path(),
        "sim",
        &identity,
        &outcome.clients.talos,
        &tailnet,
        &nodes,
    )
    .await
    .unwrap();
    assert!(written.notes.is_empty(), "{:?}", written.notes);

    let emergency = TalosConfig::from_path(&written.talosconfig).unwrap();
    let context = emergency.context(None).unwrap();
    assert_eq!(context.nodes().len(), 2);
    for name in context.nodes() {
        assert!(name.ends_with(".ts.net"), "{name}");
        let mut builder = TalosClient::builder()
            .endpoint(name.clone())
            .identity(context.identity().clone());
        for (host, address) in outcome.sim.tailnet_hosts() {
            builder = builder.resolve(host, address);
        }
        let version = builder.build().unwrap().endpoint_node().version().await;
        assert!(version.is_ok(), "{name}: {version:?}");
    }
    let kubeconfig = std::fs::read_to_string(written.kubeconfig.as_ref().unwrap()).unwrap();
    let k8s_1 = outcome.sim.tailnet_addresses("k8s-1").unwrap().fqdn;
    assert!(
        kubeconfig.contains(&format!("server: https://{k8s_1}:6443")),
        "{kubeconfig}"
    );
    for path in [&written.talosconfig, written.kubeconfig.as_ref().unwrap()] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}

#[tokio::test]
async fn without_the_cert_sans_edit_the_proof_fails_with_a_tls_name_mismatch() {
    let outcome = roll(false, true).await;
    assert!(!outcome.summary.succeeded());
    let (phase, reason) = failure(&outcome.events).unwrap();
    assert_eq!(phase, Phase::PostVerify, "{reason}");
    assert!(
        reason.contains(TALOS_API_OVER_TAILNET) && reason.contains("TLS name mismatch"),
        "{reason}"
    );
}

#[tokio::test]
async fn off_the_tailnet_connectivity_is_reported_not_proven_and_the_rollout_succeeds() {
    let outcome = roll(false, false).await;
    assert!(
        outcome.summary.succeeded(),
        "{:?}",
        failure(&outcome.events)
    );
    let text = format!("{:?}", outcome.events);
    assert!(text.contains(NOT_ON_TAILNET), "{text}");
}
