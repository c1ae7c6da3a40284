//! The upgrade and reboot helpers against an in-process node that reboots like Talos:
//! going-down events, streams cut, `Unavailable` while down, a new boot ID afterwards.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use support::{Harness, NodeConfig};
use talos_client::upgrade::{
    Progress, RebootOptions, UpgradeOptions, UpgradePath, WaitOptions, WaitOutcome, install,
    reboot, upgrade,
};
use talos_client::{Error, NodeClient};

const ADMIN: &[&str] = &["os:admin"];
const IMAGE: &str = "factory.talos.dev/metal-installer/376567988ad3:v1.13.3";

/// Short backoff; the timeout only guards liveness.
fn quick() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(60),
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(20),
    }
}

fn options() -> UpgradeOptions {
    UpgradeOptions {
        wait: quick(),
        ..UpgradeOptions::new(IMAGE)
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

#[tokio::test]
async fn a_1_13_node_is_upgraded_with_pull_lifecycle_and_reboot() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let (outcome, progress) = upgrade_recording(&node, &options()).await;
    let outcome = outcome.unwrap();

    assert_eq!(outcome.boot_id_before.as_deref(), Some("boot-1"));
    assert_eq!(outcome.boot_id_after.as_deref(), Some("boot-2"));
    let methods = harness.node.methods();
    for expected in [
        "/machine.ImageService/Pull",
        "/machine.LifecycleService/Upgrade",
        "/machine.MachineService/Reboot",
    ] {
        assert!(
            methods.iter().any(|method| method == expected),
            "{expected} not called: {methods:?}"
        );
    }
    assert!(
        !methods
            .iter()
            .any(|method| method == "/machine.MachineService/Upgrade")
    );
    assert_eq!(paths(&progress), [UpgradePath::Lifecycle]);
    assert!(progress.contains(&Progress::Installer("writing boot entry".to_owned())));
    assert!(
        progress
            .iter()
            .any(|step| matches!(step, Progress::Disconnected { .. }))
    );
    // The node now runs the installed version.
    assert_eq!(node.version().await.unwrap().tag, "v1.13.3");
    // Every call (unary, streams, COSI, image and lifecycle services) was routed with
    // exactly one `node` value.
    for call in harness.node.calls() {
        assert_eq!(call.node_values, ["10.0.0.2"], "{call:?}");
    }
}

#[tokio::test]
async fn an_older_node_is_upgraded_with_the_legacy_call() {
    let harness = Harness::start(NodeConfig {
        version_tag: "v1.12.6".to_owned(),
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let (outcome, progress) = upgrade_recording(&node, &options()).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.boot_id_after.as_deref(), Some("boot-2"));
    let methods = harness.node.methods();
    assert!(
        methods
            .iter()
            .any(|method| method == "/machine.MachineService/Upgrade")
    );
    assert!(
        !methods
            .iter()
            .any(|method| method.starts_with("/machine.ImageService/"))
    );
    assert!(
        !methods
            .iter()
            .any(|method| method == "/machine.MachineService/Reboot"),
        "legacy upgrade reboots by itself"
    );
    assert_eq!(paths(&progress), [UpgradePath::Legacy]);
    assert!(progress.iter().any(
        |step| matches!(step, Progress::ActionAccepted { actor_id: Some(id) } if id == "actor-1")
    ));
}

#[tokio::test]
async fn an_unimplemented_pull_falls_back_to_the_legacy_call() {
    let harness = Harness::start(NodeConfig {
        lifecycle_api: false,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let (outcome, progress) = upgrade_recording(&node, &options()).await;
    outcome.unwrap();
    assert_eq!(
        paths(&progress),
        [UpgradePath::Lifecycle, UpgradePath::Legacy]
    );
    let methods = harness.node.methods();
    let pull = methods
        .iter()
        .position(|method| method == "/machine.ImageService/Pull")
        .unwrap();
    let legacy = methods
        .iter()
        .position(|method| method == "/machine.MachineService/Upgrade")
        .unwrap();
    assert!(pull < legacy);
}

#[tokio::test]
async fn install_on_an_older_node_returns_once_the_legacy_call_is_accepted() {
    let harness = Harness::start(NodeConfig {
        version_tag: "v1.10.4".to_owned(),
        // The node would stay down for good: a helper that waited could never return.
        down_for_calls: u32::MAX,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let mut progress = Vec::new();
    let path = install(&node, &options(), |step| progress.push(step.clone()))
        .await
        .unwrap();
    assert_eq!(path, UpgradePath::Legacy);
    let methods = harness.node.methods();
    let upgrades = methods
        .iter()
        .filter(|method| *method == "/machine.MachineService/Upgrade")
        .count();
    assert_eq!(upgrades, 1, "{methods:?}");
    assert!(
        !methods
            .iter()
            .any(|method| method == "/machine.MachineService/Events"
                || method == "/machine.MachineService/Reboot"),
        "install neither waits nor reboots: {methods:?}"
    );
    assert!(progress.iter().any(
        |step| matches!(step, Progress::ActionAccepted { actor_id: Some(id) } if id == "actor-1")
    ));
}

#[tokio::test]
async fn install_on_a_1_13_node_runs_the_installer_and_does_not_reboot() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let mut progress = Vec::new();
    let path = install(&node, &options(), |step| progress.push(step.clone()))
        .await
        .unwrap();
    assert_eq!(path, UpgradePath::Lifecycle);
    let methods = harness.node.methods();
    for expected in [
        "/machine.ImageService/Pull",
        "/machine.LifecycleService/Upgrade",
    ] {
        assert!(
            methods.iter().any(|method| method == expected),
            "{methods:?}"
        );
    }
    assert!(
        !methods
            .iter()
            .any(|method| method == "/machine.MachineService/Reboot"
                || method == "/machine.MachineService/Upgrade"),
        "{methods:?}"
    );
    assert!(progress.contains(&Progress::Installer("writing boot entry".to_owned())));
    // Still the old boot: nothing rebooted.
    assert_eq!(node.boot_id().await.unwrap(), "boot-1");
}

#[tokio::test]
async fn install_falls_back_to_the_legacy_call_like_upgrade() {
    let harness = Harness::start(NodeConfig {
        lifecycle_api: false,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let path = install(&node, &options(), |_| {}).await.unwrap();
    assert_eq!(path, UpgradePath::Legacy);
    assert!(
        harness
            .node
            .methods()
            .iter()
            .any(|method| method == "/machine.MachineService/Upgrade")
    );
}

#[tokio::test]
async fn a_failing_installer_is_an_error_and_nothing_reboots() {
    let harness = Harness::start(NodeConfig {
        installer_exit_code: 1,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let error = upgrade(&node, &options(), |_| {}).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("installer failed: exited with code 1"),
        "{error}"
    );
    assert!(
        !harness
            .node
            .methods()
            .iter()
            .any(|method| method.ends_with("/Reboot"))
    );
    assert_eq!(node.boot_id().await.unwrap(), "boot-1");
}

#[tokio::test]
async fn a_stalled_image_pull_times_out_and_nothing_is_installed() {
    let harness = Harness::start(NodeConfig {
        pull_stalls: true,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let options = UpgradeOptions {
        wait: WaitOptions {
            timeout: Duration::from_millis(300),
            ..quick()
        },
        ..options()
    };
    let error = upgrade(&node, &options, |_| {}).await.unwrap_err();
    assert!(
        matches!(error, talos_client::Error::Timeout { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("pulling the installer image on node 10.0.0.2"),
        "{error}"
    );
    assert!(
        !harness
            .node
            .methods()
            .iter()
            .any(|method| method.starts_with("/machine.LifecycleService/"))
    );
}

#[tokio::test]
async fn reboot_waits_through_unavailable_until_the_node_is_back() {
    let harness = Harness::start(NodeConfig {
        down_for_calls: 6,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let (outcome, progress) = reboot_recording(&node, &reboot_options()).await;
    let outcome = outcome.unwrap();
    assert!(outcome.rebooted);
    assert_eq!(outcome.boot_id_after.as_deref(), Some("boot-2"));
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
    let harness = Harness::start(NodeConfig {
        abrupt_reboot: true,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let (outcome, progress) = reboot_recording(&node, &reboot_options()).await;
    assert_eq!(outcome.unwrap().boot_id_after.as_deref(), Some("boot-2"));
    assert!(
        progress.contains(&Progress::Disconnected {
            reason: "the event stream ended".to_owned()
        }),
        "{progress:?}"
    );
}

#[tokio::test]
async fn reboot_keeps_waiting_while_the_boot_id_has_not_changed() {
    let harness = Harness::start(NodeConfig {
        stale_boot_id_reads: 3,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let (outcome, progress) = reboot_recording(&node, &reboot_options()).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.boot_id_after.as_deref(), Some("boot-2"));
    assert!(progress.contains(&Progress::StillOldBoot), "{progress:?}");
}

#[tokio::test]
async fn a_failed_upgrade_sequence_ends_the_wait_with_its_error() {
    let harness = Harness::start(NodeConfig {
        version_tag: "v1.12.6".to_owned(),
        upgrade_sequence_error: Some("etcd is not healthy".to_owned()),
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let error = upgrade(&node, &options(), |_| {}).await.unwrap_err();
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
    assert_eq!(node.boot_id().await.unwrap(), "boot-1");
}

#[tokio::test]
async fn without_access_to_the_boot_id_the_wait_needs_the_node_to_go_away_first() {
    // Before Talos 1.14 the boot ID is only in a file that needs os:admin; an operator
    // may reboot but not read it, so talosctl skips the boot-ID check. A "running and
    // ready" of the old boot must then not end the wait.
    let harness = Harness::start(NodeConfig {
        boot_id_resource: false,
        ready_before_going_down: true,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(&["os:operator"]).node("10.0.0.2");
    let (outcome, progress) = reboot_recording(&node, &reboot_options()).await;
    let outcome = outcome.unwrap();
    assert!(outcome.rebooted);
    assert_eq!(outcome.boot_id_before, None);
    assert_eq!(harness.node.state().boots, 2, "the node rebooted once");
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
    let harness = Harness::start(NodeConfig {
        down_for_calls: u32::MAX,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
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
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(&["os:reader"]).node("10.0.0.2");
    let options = reboot_options();
    let error = reboot(&node, &options, |_| {}).await.unwrap_err();
    assert!(error.is_permission_denied());
    assert!(error.to_string().contains("os:operator"), "{error}");
}

#[tokio::test]
async fn a_followed_log_stream_breaks_when_the_node_reboots() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let mut lines = node.logs("ext-tailscale", true, None).await.unwrap();
    for _ in 0..3 {
        lines.next().await.unwrap().unwrap();
    }
    node.reboot(Default::default()).await.unwrap();
    let error = lines.next().await.unwrap().unwrap_err();
    assert!(error.is_unavailable(), "{error}");
}

#[tokio::test]
async fn an_event_stream_cut_by_a_dropped_connection_ends_with_an_error() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let mut events = node
        .events(talos_client::machine::EventsTail::None, None)
        .await
        .unwrap();
    harness.server.drop_connections();
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
    assert_eq!(version.tag, "v1.13.2");
}
