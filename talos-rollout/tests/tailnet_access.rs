//! Administering the cluster over the tailnet, end to end on the sim: the Tailscale
//! profile adds each node's MagicDNS name to its certSANs and proves the Talos API
//! reachable by that name with full TLS verification; without the edit the proof fails
//! with a TLS name mismatch; off the tailnet it is reported, not failed. Real time with
//! short timings: the probes dial real sockets.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use rollout_core::RolloutSpec;
use rollout_core::machine::{Phase, RolloutEvent, Summary};
use sim::tailnet::TailnetOptions;
use sim::talos::Timings;
use sim::{Sim, TailnetDns};
use support::{ROUTE, SimClients};
use talos_client::TalosClient;
use talos_client::config::TalosConfig;
use talos_client::machine::ApplyMode;
use talos_client::machine_config::{CertSans, ConfigDocuments};
use talos_rollout::adapters::TalosAdapter;
use talos_rollout::profiles::TailscaleProfile;
use talos_rollout::profiles::tailscale::{
    ConnectivityProbe, Diagnosis, EmergencyNode, Health, KUBE_API_OVER_TAILNET, NOT_ON_TAILNET,
    ProbeOutcome, RouteApproval, SERVICE_OVER_TAILNET, TALOS_API_OVER_TAILNET, TailnetAdapter,
    TailnetPresence, check_health, probe_connectivity, write_emergency_configs,
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
    /// The rollout's artifacts (journal, config backups), kept for a rollback.
    artifacts: tempfile::TempDir,
}

/// A two-node sim (one control plane, one worker) without Tailscale yet.
async fn start_sim() -> Sim {
    Sim::builder()
        .control_planes(1)
        .workers(1)
        .timings(FAST)
        .tailnet(TailnetOptions {
            appear_delay: Duration::from_millis(100),
            ..TailnetOptions::default()
        })
        .start()
        .await
        .unwrap()
}

/// Rolls Tailscale onto a fresh two-node sim; `cert_sans` turns the certSANs edit on,
/// `on_tailnet` is what the probe assumes about this machine.
async fn roll(cert_sans: bool, on_tailnet: bool) -> Outcome {
    roll_on(start_sim().await, cert_sans, on_tailnet, |profile| profile).await
}

/// The Tailscale profile of these tests, minting its key from the sim's tailnet.
async fn profile(
    sim: &Sim,
    clients: &SimClients,
    cert_sans: bool,
    on_tailnet: bool,
) -> TailscaleProfile {
    let key = clients.mint_key(None).await;
    let mut profile = TailscaleProfile::new(clients.tailscale.clone())
        .auth_key(key)
        .routes([ROUTE])
        .connectivity(probe(sim, on_tailnet));
    if cert_sans {
        profile = profile.tailnet_cert_sans(Arc::new(TalosAdapter::new(clients.talos.clone())));
    }
    profile
}

/// The front door over the sim with `profile`, journaling into `artifacts`.
fn rollout(
    clients: &SimClients,
    profile: TailscaleProfile,
    artifacts: &std::path::Path,
) -> (ExtensionRollout, talos_rollout::driver::EventStream) {
    let mut spec = RolloutSpec {
        soak: Duration::from_millis(200),
        ..RolloutSpec::default()
    };
    spec.timeouts.check_interval = Duration::from_millis(100);
    spec.timeouts.post_verify = Duration::from_secs(4);
    ExtensionRollout::builder()
        .talos(clients.talos.clone())
        .factory(clients.factory.clone())
        .profile(profile)
        .cluster("sim")
        .nodes(["k8s-1", "k8s-2"])
        .spec(spec)
        .artifacts(artifacts)
        .build()
        .unwrap()
}

/// Rolls Tailscale onto `sim` (see [`roll`]) with the profile changed by `tweak`.
async fn roll_on(
    sim: Sim,
    cert_sans: bool,
    on_tailnet: bool,
    tweak: impl FnOnce(TailscaleProfile) -> TailscaleProfile,
) -> Outcome {
    let clients = SimClients::connect(&sim);
    let profile = tweak(profile(&sim, &clients, cert_sans, on_tailnet).await);
    let artifacts = tempfile::tempdir().unwrap();
    let (rollout, mut events) = rollout(&clients, profile, artifacts.path());
    let summary = rollout.run().await.unwrap();
    let seen = support::drain_events(&mut events);
    Outcome {
        sim,
        clients,
        summary,
        events: seen,
        artifacts,
    }
}

/// The probe a machine on (or off) the tailnet uses, dialling the sim's nodes (Talos API,
/// and the Kubernetes API of control-plane nodes with the sim's kubeconfig).
fn probe(sim: &Sim, on_tailnet: bool) -> ConnectivityProbe {
    probe_through(sim.tailnet_dns(), sim, on_tailnet)
}

/// As [`probe`], dialling through `dns`.
fn probe_through(dns: TailnetDns, sim: &Sim, on_tailnet: bool) -> ConnectivityProbe {
    let identity = sim
        .talosconfig()
        .unwrap()
        .context(None)
        .unwrap()
        .identity()
        .clone();
    ConnectivityProbe::new(identity)
        .presence(TailnetPresence::Assume(on_tailnet))
        .resolver(Arc::new(move || dns.endpoints()))
        .kubeconfig(sim.kubeconfig().unwrap())
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
    let probes = |node: usize| -> Vec<&str> {
        round.nodes[node]
            .connectivity
            .iter()
            .map(|report| report.name.as_str())
            .collect()
    };
    assert_eq!(
        probes(0),
        [TALOS_API_OVER_TAILNET, KUBE_API_OVER_TAILNET],
        "the control plane's Kubernetes API is probed too"
    );
    assert_eq!(probes(1), [TALOS_API_OVER_TAILNET], "a worker has none");
    assert!(
        matches!(&round.nodes[0].connectivity[1].outcome, ProbeOutcome::Reached { detail } if detail.starts_with("Kubernetes")),
        "{round:#?}"
    );
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
    let version = probe(&outcome.sim, true)
        .kubeconfig(secrecy::SecretString::from(kubeconfig))
        .kube_api(&k8s_1)
        .await
        .unwrap();
    assert!(
        matches!(version.outcome, ProbeOutcome::Reached { .. }),
        "the emergency kubeconfig reaches /version: {version:?}"
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

#[tokio::test]
async fn rollback_removes_exactly_the_cert_sans_the_rollout_added() {
    let sim = start_sim().await;
    // The operator's own SAN, there before the rollout, must survive the rollback.
    let own = vec!["admin.example.com".to_owned()];
    let node = SimClients::connect(&sim).talos.node("k8s-1");
    let mut documents =
        ConfigDocuments::parse(&sim.cluster().snapshot("k8s-1").unwrap().config).unwrap();
    documents.add_cert_sans(CertSans::Machine, &own).unwrap();
    documents.add_cert_sans(CertSans::ApiServer, &own).unwrap();
    node.apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
        .await
        .unwrap();
    let before = sim.cluster().snapshot("k8s-1").unwrap().config;

    let outcome = roll_on(sim, true, true, |profile| profile).await;
    assert!(
        outcome.summary.succeeded(),
        "{:?}",
        failure(&outcome.events)
    );
    let rolled =
        ConfigDocuments::parse(&outcome.sim.cluster().snapshot("k8s-1").unwrap().config).unwrap();
    assert_eq!(
        rolled.cert_sans(CertSans::Machine).len(),
        4,
        "ours were added"
    );

    let profile = profile(&outcome.sim, &outcome.clients, true, true).await;
    let (rollback, _events) = rollout(&outcome.clients, profile, outcome.artifacts.path());
    let summary = rollback.roll_back(&[]).await.unwrap();
    assert!(
        summary
            .nodes
            .contains(&("k8s-1".to_owned(), Phase::RolledBack)),
        "{summary:?}"
    );
    let after = outcome.sim.cluster().snapshot("k8s-1").unwrap().config;
    let documents = ConfigDocuments::parse(&after).unwrap();
    assert_eq!(documents.cert_sans(CertSans::Machine), own);
    assert_eq!(documents.cert_sans(CertSans::ApiServer), own);
    assert_eq!(after, before, "the config is back byte for byte");
}

/// Replaces `cluster.apiServer.certSANs` of `host` without a reboot: `add` or remove `sans`.
async fn edit_api_server_sans(outcome: &Outcome, host: &str, sans: &[String], add: bool) {
    let config = outcome.sim.cluster().snapshot(host).unwrap().config;
    let mut documents = ConfigDocuments::parse(&config).unwrap();
    if add {
        documents.add_cert_sans(CertSans::ApiServer, sans).unwrap();
    } else {
        documents
            .remove_cert_sans(CertSans::ApiServer, sans)
            .unwrap();
    }
    outcome
        .clients
        .talos
        .node(host)
        .apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_kubernetes_api_is_proven_by_its_magicdns_name_only_with_the_api_server_cert_sans() {
    let outcome = roll(true, true).await;
    assert!(
        outcome.summary.succeeded(),
        "{:?}",
        failure(&outcome.events)
    );
    let fqdn = outcome.sim.tailnet_addresses("k8s-1").unwrap().fqdn;
    let sans = vec![fqdn.clone()];
    let probe = probe(&outcome.sim, true);

    edit_api_server_sans(&outcome, "k8s-1", &sans, false).await;
    let refused = probe.kube_api(&fqdn).await.unwrap();
    assert_eq!(refused.name, KUBE_API_OVER_TAILNET);
    assert!(
        matches!(
            refused.outcome,
            ProbeOutcome::Failed {
                diagnosis: Diagnosis::TlsNameMismatch,
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(refused.detail().contains("cluster.apiServer.certSANs"));

    edit_api_server_sans(&outcome, "k8s-1", &sans, true).await;
    let reached = probe.kube_api(&fqdn).await.unwrap();
    assert!(
        matches!(&reached.outcome, ProbeOutcome::Reached { detail } if detail.starts_with("Kubernetes")),
        "{reached:?}"
    );
}

#[tokio::test]
async fn the_cluster_dns_service_is_reached_through_the_approved_and_accepted_route() {
    let sim = start_sim().await;
    let with_service = probe(&sim, true).service(sim.cluster_dns_service());
    let outcome = roll_on(sim, true, true, move |profile| {
        profile
            .route_approval(RouteApproval::Api)
            .connectivity(with_service)
    })
    .await;
    assert!(
        outcome.summary.succeeded(),
        "{:?}",
        failure(&outcome.events)
    );
    let service = outcome.sim.cluster_dns_service();
    assert_eq!(service.to_string(), "10.43.0.10:53");
    let reached = probe(&outcome.sim, true)
        .service(service)
        .service_reachable()
        .await
        .unwrap();
    assert_eq!(reached.name, SERVICE_OVER_TAILNET);
    assert!(
        matches!(reached.outcome, ProbeOutcome::Reached { .. }),
        "{reached:?}"
    );

    // The same tailnet from a client that never ran `tailscale set --accept-routes`.
    let dns = outcome.sim.tailnet_dns().without_accepted_routes();
    let refused = probe_through(dns, &outcome.sim, true)
        .service(service)
        .service_reachable()
        .await
        .unwrap();
    assert!(
        matches!(
            refused.outcome,
            ProbeOutcome::Failed {
                diagnosis: Diagnosis::RouteNotAccepted,
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(refused.detail().contains("tailscale set --accept-routes"));
}

#[tokio::test]
async fn an_unapproved_route_fails_the_service_gate_with_its_diagnosis() {
    let sim = start_sim().await;
    let with_service = probe(&sim, true).service(sim.cluster_dns_service());
    // Nothing approves the advertised route.
    let outcome = roll_on(sim, true, true, move |profile| {
        profile
            .route_approval(RouteApproval::None)
            .connectivity(with_service)
    })
    .await;
    assert!(!outcome.summary.succeeded());
    let (phase, reason) = failure(&outcome.events).unwrap();
    assert_eq!(phase, Phase::PostVerify, "{reason}");
    assert!(
        reason.contains(SERVICE_OVER_TAILNET) && reason.contains("routes are approved"),
        "{reason}"
    );
}
