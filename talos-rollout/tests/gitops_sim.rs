//! The GitOps drift check and sync against the simulated cluster and its sample talhelper
//! repository: in step before a rollout, drifted after it, in step once the repository is
//! synced, drifted again after a hand edit. Real time with short sim timings (gRPC calls
//! are in flight throughout).
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use rollout_core::RolloutSpec;
use sim::Sim;
use sim::talos::Timings;
use support::{ROUTE, SimClients};
use talos_rollout::adapters::TalosAdapter;
use talos_rollout::gitops::{DriftReport, Repository, SyncOptions, check, sync_after_rollout};
use talos_rollout::profiles::TailscaleProfile;
use talos_rollout::{Event, ExtensionRollout, RunEvent};

const FAST: Timings = Timings {
    shutdown: Duration::from_millis(50),
    reboot: Duration::from_millis(200),
    boot: Duration::from_millis(100),
    service_restart: Duration::from_millis(200),
    install: Duration::ZERO,
};

fn fields(report: &DriftReport) -> Vec<String> {
    let mut fields: Vec<String> = report
        .nodes
        .iter()
        .flat_map(|node| node.differences.iter().map(|d| d.field.clone()))
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

#[tokio::test]
async fn the_sample_repository_follows_the_rollout_and_the_check_sees_every_drift() {
    let sim = Sim::builder()
        .timings(FAST)
        .tailnet(sim::tailnet::TailnetOptions {
            appear_delay: Duration::from_millis(200),
            ..sim::tailnet::TailnetOptions::default()
        })
        .start()
        .await
        .unwrap();
    let nodes = sim
        .talosconfig()
        .unwrap()
        .context(None)
        .unwrap()
        .nodes()
        .to_vec();
    let clients = SimClients::connect(&sim);
    let key = clients.mint_key(None).await;
    let repo_dir = tempfile::tempdir().unwrap();
    sim::samples::write_talhelper_repository(repo_dir.path()).unwrap();
    let repo = Repository::open(repo_dir.path()).unwrap();
    let port = TalosAdapter::new(clients.talos.clone());

    let before = check(&repo, &port, &nodes).await.unwrap();
    assert!(before.in_step(), "{before:#?}");

    let artifacts = tempfile::tempdir().unwrap();
    let spec = RolloutSpec {
        soak: Duration::from_secs(1),
        ..RolloutSpec::default()
    };
    let profile = TailscaleProfile::new(clients.tailscale.clone())
        .auth_key(key)
        .routes([ROUTE]);
    let (rollout, mut events) = ExtensionRollout::builder()
        .talos(clients.talos.clone())
        .factory(clients.factory.clone())
        .profile(profile)
        .cluster("sim")
        .nodes(nodes.clone())
        .spec(spec)
        .artifacts(artifacts.path())
        .build()
        .unwrap();
    let summary = rollout.run().await.unwrap();
    assert!(summary.succeeded(), "{summary:?}");
    let mut plan = None;
    for event in support::drain_events(&mut events) {
        if let Event::Run(RunEvent::Plan(planned)) = event {
            plan = Some(*planned);
        }
    }
    let plan = plan.unwrap();
    assert!(artifacts.path().join("sim/recovery/RUNBOOK.md").is_file());

    let unsynced = check(&repo, &port, &nodes).await.unwrap();
    assert_eq!(
        fields(&unsynced),
        ["esc:tailscale", "installer", "schematic"],
        "{unsynced:#?}"
    );

    let report = sync_after_rollout(
        &repo,
        &rollout.store(),
        &plan,
        &summary,
        &SyncOptions::default(),
    )
    .unwrap();
    assert_eq!(report.changed.len(), 4, "{report:?}");
    let synced = check(&repo, &port, &nodes).await.unwrap();
    assert!(synced.in_step(), "{synced:#?}");

    let talenv = repo.talenv_path();
    let text = std::fs::read_to_string(&talenv).unwrap();
    std::fs::write(&talenv, text.replace("v1.10.4", "v1.10.5")).unwrap();
    let edited = check(&repo, &port, &nodes).await.unwrap();
    assert_eq!(
        fields(&edited),
        ["installer", "talosVersion"],
        "{edited:#?}"
    );
    let drift = &edited.nodes[0].differences[0];
    assert_eq!(
        (drift.repository.as_str(), drift.live.as_str()),
        ("v1.10.5", "v1.10.4")
    );
}

#[tokio::test]
async fn every_rollout_leaves_a_recovery_bundle_with_the_addresses_filled_in() {
    let sim = Sim::builder().timings(FAST).start().await.unwrap();
    let nodes = sim
        .talosconfig()
        .unwrap()
        .context(None)
        .unwrap()
        .nodes()
        .to_vec();
    let clients = SimClients::connect(&sim);
    let key = clients.mint_key(None).await;
    let artifacts = tempfile::tempdir().unwrap();
    let profile = TailscaleProfile::new(clients.tailscale.clone())
        .auth_key(key)
        .routes([ROUTE]);
    let (rollout, _events) = ExtensionRollout::builder()
        .talos(clients.talos.clone())
        .factory(clients.factory.clone())
        .profile(profile)
        .cluster("sim")
        .nodes(nodes.clone())
        .spec(RolloutSpec {
            soak: Duration::from_secs(1),
            ..RolloutSpec::default()
        })
        .artifacts(artifacts.path())
        .build()
        .unwrap();
    let plan = rollout.plan().await.unwrap();
    let store = rollout.store();
    // the bundle is written with the patches, before any node is touched
    let bundle = talos_rollout::gitops::recovery::write_bundle(&store, &plan).unwrap();

    let ids = std::fs::read_to_string(bundle.join("schematic-id.txt")).unwrap();
    assert_eq!(ids.trim(), plan.schematics[0].id);
    let installers: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("installers.json")).unwrap())
            .unwrap();
    assert_eq!(installers.as_array().unwrap().len(), nodes.len());
    assert_eq!(
        installers[0]["original_image"],
        serde_json::json!(plan.nodes[0].from.install_image)
    );
    let runbook = std::fs::read_to_string(bundle.join("RUNBOOK.md")).unwrap();
    for node in &plan.nodes {
        let original = node.from.install_image.as_deref().unwrap();
        assert!(
            runbook.contains(&format!(
                "talosctl -n {} upgrade --image {original}",
                node.node
            )),
            "{runbook}"
        );
        assert!(
            runbook.contains(&format!(
                "--artifacts {} --node {}",
                artifacts.path().display(),
                node.node
            )),
            "{runbook}"
        );
        assert!(
            runbook.contains(&format!("talosctl -n {} logs ext-tailscale", node.node)),
            "{runbook}"
        );
    }
    assert!(!runbook.contains("tskey-"), "no secret in the runbook");
}
