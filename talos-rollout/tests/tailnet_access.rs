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
use talos_client::machine_config::{CertSans, ConfigDocuments};
use talos_rollout::adapters::TalosAdapter;
use talos_rollout::profiles::TailscaleProfile;
use talos_rollout::profiles::tailscale::{
    ConnectivityProbe, NOT_ON_TAILNET, TALOS_API_OVER_TAILNET, TailnetPresence,
};
use talos_rollout::{Event, ExtensionRollout};

const FAST: Timings = Timings {
    shutdown: Duration::from_millis(20),
    reboot: Duration::from_millis(200),
    boot: Duration::from_millis(50),
    service_restart: Duration::from_millis(200),
};

struct Outcome {
    sim: Sim,
    summary: Summary,
    events: Vec<Event>,
}

/// Rolls Tailscale onto a one-node sim; `cert_sans` turns the certSANs edit on,
/// `on_tailnet` is what the probe assumes about this machine.
async fn roll(cert_sans: bool, on_tailnet: bool) -> Outcome {
    let sim = Sim::builder()
        .control_planes(1)
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
    let identity = sim
        .talosconfig()
        .unwrap()
        .context(None)
        .unwrap()
        .identity()
        .clone();
    let dns = sim.tailnet_dns();
    let probe = ConnectivityProbe::new(identity)
        .presence(TailnetPresence::Assume(on_tailnet))
        .resolver(Arc::new(move || dns.hosts()))
        .timeout(Duration::from_secs(2));
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
        .nodes(["k8s-1"])
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
        summary,
        events: seen,
    }
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
