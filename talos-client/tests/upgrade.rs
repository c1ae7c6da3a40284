//! The upgrade and reboot helpers against the simulated cluster, whose nodes reboot like
//! Talos: going-down events, streams cut, `Unavailable` while down, a new boot ID afterwards.
//! Faults (`sim::Faults`) make a node misbehave the way a real one can.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use sim::Sim;
use support::{
    BOOT_ID_VERSION, LEGACY_VERSION, LIFECYCLE_VERSION, NEXT_VERSION, NODE, calls, client,
    configure_tailscale, one_node, received_methods, resource_reads, snapshot, start,
};
use talos_client::resources::{BootId, ResourceKind};
use talos_client::upgrade::{
    Progress, RebootOptions, UpgradeOptions, UpgradePath, WaitOptions, WaitOutcome, install,
    reboot, upgrade,
};
use talos_client::{Error, NodeClient, methods};

const ADMIN: &[&str] = &["os:admin"];
const HOST: &str = "k8s-1";

/// Short backoff; the timeout only guards liveness.
fn quick() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(60),
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(20),
    }
}

/// Upgrade options for the node's own schematic at [`NEXT_VERSION`].
fn options(sim: &Sim) -> UpgradeOptions {
    let now = snapshot(sim);
    let image = now.image.replace(&now.version, NEXT_VERSION);
    UpgradeOptions {
        wait: quick(),
        ..UpgradeOptions::new(image)
    }
}

fn reboot_options() -> RebootOptions {
    RebootOptions {
        wait: quick(),
        ..RebootOptions::default()
    }
}

/// Runs the upgrade helper, recording every progress step.
async fn upgrade_recording(
    node: &NodeClient,
    options: &UpgradeOptions,
) -> (Result<WaitOutcome, Error>, Vec<Progress>) {
    let mut progress = Vec::new();
    let outcome = upgrade(node, options, |step| progress.push(step.clone())).await;
    (outcome, progress)
}

/// Runs the reboot helper, recording every progress step.
async fn reboot_recording(
    node: &NodeClient,
    options: &RebootOptions,
) -> (Result<WaitOutcome, Error>, Vec<Progress>) {
    let mut progress = Vec::new();
    let outcome = reboot(node, options, |step| progress.push(step.clone())).await;
    (outcome, progress)
}

fn paths(progress: &[Progress]) -> Vec<UpgradePath> {
    progress
        .iter()
        .filter_map(|step| match step {
            Progress::Path(path) => Some(*path),
            _ => None,
        })
        .collect()
}

fn called(sim: &Sim, method: &str) -> bool {
    received_methods(sim).iter().any(|called| called == method)
}

/// The installer's line saying what it installs.
fn installs_next_version(step: &Progress) -> bool {
    matches!(step, Progress::Installer(line) if line.starts_with(&format!("installing Talos {NEXT_VERSION}")))
}

/// The actor ID the node accepted an action under.
fn accepted_actor(progress: &[Progress]) -> Option<String> {
    progress.iter().find_map(|step| match step {
        Progress::ActionAccepted { actor_id } => actor_id.clone(),
        _ => None,
    })
}

#[tokio::test]
async fn a_1_13_node_is_upgraded_with_pull_lifecycle_and_reboot() {
    let sim = start(one_node()).await;
    let before = snapshot(&sim).boot_id;
    let node = client(&sim, ADMIN).node(NODE);
    let (outcome, progress) = upgrade_recording(&node, &options(&sim)).await;
    let outcome = outcome.unwrap();

    assert_eq!(outcome.boot_id_before, Some(before.clone()));
    let after = snapshot(&sim).boot_id;
    assert_ne!(after, before);
    assert_eq!(outcome.boot_id_after, Some(after));
    for expected in [
        methods::IMAGE_PULL,
        methods::LIFECYCLE_UPGRADE,
        methods::REBOOT,
    ] {
        assert!(called(&sim, expected), "{expected} not called");
    }
    assert!(!called(&sim, methods::UPGRADE));
    assert!(!read_boot_id_resource(&sim), "a 1.13 node has no BootIDs");
    assert_eq!(paths(&progress), [UpgradePath::Lifecycle]);
    assert!(progress.iter().any(installs_next_version), "{progress:?}");
    assert!(
        progress
            .iter()
            .any(|step| matches!(step, Progress::Disconnected { .. }))
    );
    // The node now runs the installed version.
    assert_eq!(node.version().await.unwrap().tag, NEXT_VERSION);
    // Every call (unary, streams, COSI, image and lifecycle services) was routed with
    // exactly one `node` value.
    for call in calls(&sim) {
        assert_eq!(call.node, [NODE], "{call:?}");
    }
}

#[tokio::test]
async fn an_older_node_is_upgraded_with_the_legacy_call() {
    let sim = start(one_node().talos_version(LEGACY_VERSION)).await;
    let before = snapshot(&sim).boot_id;
    let node = client(&sim, ADMIN).node(NODE);
    let (outcome, progress) = upgrade_recording(&node, &options(&sim)).await;
    let outcome = outcome.unwrap();
    let after = snapshot(&sim).boot_id;
    assert_ne!(after, before);
    assert_eq!(outcome.boot_id_after, Some(after));
    assert!(called(&sim, methods::UPGRADE));
    assert!(
        !received_methods(&sim)
            .iter()
            .any(|method| method.starts_with("/machine.ImageService/"))
    );
    assert!(
        !called(&sim, methods::REBOOT),
        "legacy upgrade reboots by itself"
    );
    assert_eq!(paths(&progress), [UpgradePath::Legacy]);
    assert!(
        accepted_actor(&progress).is_some_and(|id| !id.is_empty()),
        "{progress:?}"
    );
    assert_eq!(snapshot(&sim).version, NEXT_VERSION);
}

#[tokio::test]
async fn an_unimplemented_pull_falls_back_to_the_legacy_call() {
    let sim = start(one_node()).await;
    sim.faults().lifecycle_api_missing(HOST);
    let node = client(&sim, ADMIN).node(NODE);
    let (outcome, progress) = upgrade_recording(&node, &options(&sim)).await;
    outcome.unwrap();
    assert_eq!(
        paths(&progress),
        [UpgradePath::Lifecycle, UpgradePath::Legacy]
    );
    let methods = received_methods(&sim);
    let pull = methods
        .iter()
        .position(|method| method == methods::IMAGE_PULL)
        .unwrap();
    let legacy = methods
        .iter()
        .position(|method| method == methods::UPGRADE)
        .unwrap();
    assert!(pull < legacy);
}

#[tokio::test]
async fn install_on_an_older_node_returns_once_the_legacy_call_is_accepted() {
    let sim = start(one_node().talos_version(LEGACY_VERSION)).await;
    // The node stays down for good: a helper that waited could never return.
    sim.faults().node_never_returns(HOST);
    let node = client(&sim, ADMIN).node(NODE);
    let mut progress = Vec::new();
    let path = install(&node, &options(&sim), |step| progress.push(step.clone()))
        .await
        .unwrap();
    assert_eq!(path, UpgradePath::Legacy);
    let methods = received_methods(&sim);
    let upgrades = methods
        .iter()
        .filter(|method| *method == methods::UPGRADE)
        .count();
    assert_eq!(upgrades, 1, "{methods:?}");
    assert!(
        !methods
            .iter()
            .any(|method| method == methods::EVENTS || method == methods::REBOOT),
        "install neither waits nor reboots: {methods:?}"
    );
    assert!(
        accepted_actor(&progress).is_some_and(|id| !id.is_empty()),
        "{progress:?}"
    );
}

#[tokio::test]
async fn install_on_a_1_13_node_runs_the_installer_and_does_not_reboot() {
    let sim = start(one_node()).await;
    let before = snapshot(&sim).boot_id;
    let node = client(&sim, ADMIN).node(NODE);
    let mut progress = Vec::new();
    let path = install(&node, &options(&sim), |step| progress.push(step.clone()))
        .await
        .unwrap();
    assert_eq!(path, UpgradePath::Lifecycle);
    for expected in [methods::IMAGE_PULL, methods::LIFECYCLE_UPGRADE] {
        assert!(called(&sim, expected), "{expected} not called");
    }
    assert!(
        !called(&sim, methods::REBOOT) && !called(&sim, methods::UPGRADE),
        "{:?}",
        received_methods(&sim)
    );
    assert!(progress.iter().any(installs_next_version), "{progress:?}");
    // Still the old boot: nothing rebooted.
    assert_eq!(node.boot_id().await.unwrap(), before);
}

#[tokio::test]
async fn install_falls_back_to_the_legacy_call_like_upgrade() {
    let sim = start(one_node()).await;
    sim.faults().lifecycle_api_missing(HOST);
    let node = client(&sim, ADMIN).node(NODE);
    let path = install(&node, &options(&sim), |_| {}).await.unwrap();
    assert_eq!(path, UpgradePath::Legacy);
    assert!(called(&sim, methods::UPGRADE));
}

#[tokio::test]
async fn a_failing_installer_is_an_error_and_nothing_reboots() {
    let sim = start(one_node()).await;
    sim.faults().installer_exits_with(HOST, 1);
    let before = snapshot(&sim).boot_id;
    let node = client(&sim, ADMIN).node(NODE);
    let error = upgrade(&node, &options(&sim), |_| {}).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("installer failed: exited with code 1"),
        "{error}"
    );
    assert!(!called(&sim, methods::REBOOT));
    assert_eq!(node.boot_id().await.unwrap(), before);
}

#[tokio::test]
async fn a_stalled_image_pull_times_out_and_nothing_is_installed() {
    let sim = start(one_node()).await;
    sim.faults().image_pull_stalls(HOST);
    let node = client(&sim, ADMIN).node(NODE);
    let options = UpgradeOptions {
        wait: WaitOptions {
            timeout: Duration::from_millis(300),
            ..quick()
        },
        ..options(&sim)
    };
    let error = upgrade(&node, &options, |_| {}).await.unwrap_err();
    assert!(
        matches!(error, talos_client::Error::Timeout { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("pulling the installer image on node {NODE}")),
        "{error}"
    );
    assert!(
        !received_methods(&sim)
            .iter()
            .any(|method| method.starts_with("/machine.LifecycleService/"))
    );
}

fn read_boot_id_resource(sim: &Sim) -> bool {
    resource_reads(sim)
        .iter()
        .any(|(_, resource_type)| resource_type == BootId::TYPE)
}

#[tokio::test]
async fn the_boot_id_is_read_as_the_nodes_version_allows() {
    // Before 1.14 only the kernel file: the node has no BootIDs to ask for.
    let sim = start(one_node()).await;
    let node = client(&sim, ADMIN).node(NODE);
    let outcome = reboot_recording(&node, &reboot_options()).await.0.unwrap();
    assert_eq!(outcome.boot_id_after, Some(snapshot(&sim).boot_id));
    assert!(!read_boot_id_resource(&sim), "{:?}", resource_reads(&sim));
    assert!(called(&sim, methods::READ));
    // 1.14+: only the resource.
    let sim = start(one_node().talos_version(BOOT_ID_VERSION)).await;
    let node = client(&sim, ADMIN).node(NODE);
    let outcome = reboot_recording(&node, &reboot_options()).await.0.unwrap();
    assert_eq!(outcome.boot_id_after, Some(snapshot(&sim).boot_id));
    assert!(read_boot_id_resource(&sim));
    assert!(!called(&sim, methods::READ));
}

#[tokio::test]
async fn reboot_waits_through_unavailable_until_the_node_is_back() {
    let sim = start(one_node()).await;
    // Down for 0.4 s: many polls meet `Unavailable`.
    sim.faults().slow_reboot(HOST, Duration::from_millis(300));
    let node = client(&sim, ADMIN).node(NODE);
    let (outcome, progress) = reboot_recording(&node, &reboot_options()).await;
    let outcome = outcome.unwrap();
    assert!(outcome.rebooted);
    assert_eq!(outcome.boot_id_after, Some(snapshot(&sim).boot_id));
    let unavailable = progress
        .iter()
        .filter(|step| matches!(step, Progress::Disconnected { reason } if reason.contains("unavailable")))
        .count();
    assert!(
        unavailable >= 5,
        "expected the down period to be seen: {progress:?}"
    );
}

#[tokio::test]
async fn an_abrupt_reboot_whose_event_stream_simply_ends_is_waited_through() {
    let sim = start(one_node()).await;
    sim.faults().abrupt_reboots(HOST);
    let node = client(&sim, ADMIN).node(NODE);
    let (outcome, progress) = reboot_recording(&node, &reboot_options()).await;
    assert_eq!(outcome.unwrap().boot_id_after, Some(snapshot(&sim).boot_id));
    assert!(
        progress.contains(&Progress::Disconnected {
            reason: "the event stream ended".to_owned()
        }),
        "{progress:?}"
    );
}

#[tokio::test]
async fn reboot_keeps_waiting_while_the_boot_id_has_not_changed() {
    let sim = start(one_node()).await;
    sim.faults().stale_boot_id_reads(HOST, 3);
    let node = client(&sim, ADMIN).node(NODE);
    let (outcome, progress) = reboot_recording(&node, &reboot_options()).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.boot_id_after, Some(snapshot(&sim).boot_id));
    assert!(progress.contains(&Progress::StillOldBoot), "{progress:?}");
}

#[tokio::test]
async fn a_failed_upgrade_sequence_ends_the_wait_with_its_error() {
    let sim = start(one_node().talos_version(LEGACY_VERSION)).await;
    sim.faults()
        .upgrade_sequence_fails(HOST, "etcd is not healthy");
    let before = snapshot(&sim).boot_id;
    let node = client(&sim, ADMIN).node(NODE);
    let error = upgrade(&node, &options(&sim), |_| {}).await.unwrap_err();
    assert!(
        matches!(error, talos_client::Error::OperationFailed { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("the action failed: sequence \"upgrade\": etcd is not healthy; "),
        "{error}"
    );
    assert!(error.to_string().contains("talosctl dmesg"), "{error}");
    assert_eq!(node.boot_id().await.unwrap(), before);
}

#[tokio::test]
async fn without_access_to_the_boot_id_the_wait_needs_the_node_to_go_away_first() {
    // Before Talos 1.14 the boot ID is only in a file that needs os:admin; an operator
    // may reboot but not read it, so talosctl skips the boot-ID check. A "running and
    // ready" of the old boot must then not end the wait.
    let sim = start(one_node()).await;
    assert_eq!(snapshot(&sim).version, LIFECYCLE_VERSION);
    sim.faults().stale_ready_on_reboot(HOST);
    let node = client(&sim, &["os:operator"]).node(NODE);
    let (outcome, progress) = reboot_recording(&node, &reboot_options()).await;
    let outcome = outcome.unwrap();
    assert!(outcome.rebooted);
    assert_eq!(outcome.boot_id_before, None);
    assert_eq!(snapshot(&sim).boots, 2, "the node rebooted once");
    let went_away = progress
        .iter()
        .position(|step| matches!(step, Progress::Disconnected { .. }))
        .unwrap();
    let ready = progress
        .iter()
        .rposition(|step| matches!(step, Progress::Event(event) if event.is_running_and_ready()))
        .unwrap();
    assert!(went_away < ready, "{progress:?}");
}

#[tokio::test]
async fn a_node_that_never_returns_times_out() {
    let sim = start(one_node()).await;
    sim.faults().node_never_returns(HOST);
    let node = client(&sim, ADMIN).node(NODE);
    let options = RebootOptions {
        wait: WaitOptions {
            timeout: Duration::from_millis(300),
            ..quick()
        },
        ..RebootOptions::default()
    };
    let error = reboot(&node, &options, |_| {}).await.unwrap_err();
    assert!(
        matches!(error, talos_client::Error::Timeout { .. }),
        "{error}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn reboot_with_a_reader_certificate_is_refused_before_waiting() {
    let sim = start(one_node()).await;
    let node = client(&sim, &["os:reader"]).node(NODE);
    let error = reboot(&node, &reboot_options(), |_| {}).await.unwrap_err();
    assert!(error.is_permission_denied());
    assert!(error.to_string().contains("os:operator"), "{error}");
}

#[tokio::test]
async fn a_followed_log_stream_breaks_when_the_node_reboots() {
    let sim = start(one_node()).await;
    configure_tailscale(&sim, &["TS_ACCEPT_DNS=false"]).await;
    let written = sim
        .cluster()
        .service_log(NODE, "ext-tailscale")
        .unwrap()
        .lines()
        .count();
    let node = client(&sim, ADMIN).node(NODE);
    let mut lines = node.logs("ext-tailscale", true, None).await.unwrap();
    for _ in 0..written {
        lines.next().await.unwrap().unwrap();
    }
    node.reboot(Default::default()).await.unwrap();
    let error = lines.next().await.unwrap().unwrap_err();
    assert!(error.is_unavailable(), "{error}");
}

#[tokio::test]
async fn an_event_stream_cut_by_a_dropped_connection_ends_with_an_error() {
    let sim = start(one_node()).await;
    let node = client(&sim, ADMIN).node(NODE);
    let mut events = node
        .events(talos_client::machine::EventsTail::None, None)
        .await
        .unwrap();
    sim.drop_apid_connections();
    let outcome = events.next().await;
    let error = outcome
        .expect("a dropped connection must surface, not hang")
        .unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    // The client reconnects by itself afterwards.
    let version = loop {
        match node.version().await {
            Ok(version) => break version,
            Err(error) if error.is_unavailable() => tokio::task::yield_now().await,
            Err(error) => panic!("{error}"),
        }
    };
    assert_eq!(version.tag, LIFECYCLE_VERSION);
}
