//! Every typed machine-API call against an in-process node over real mTLS.

#![allow(clippy::unwrap_used)]

mod support;

use futures::StreamExt;
use std::time::Duration;
use support::{Harness, NodeConfig, collect};
use talos_client::machine::{
    AppliedMode, ApplyMode, ClusterNodes, EventPayload, EventsTail, LegacyUpgrade, RebootMode,
};

const ADMIN: &[&str] = &["os:admin"];

#[tokio::test]
async fn version_reports_the_tag_and_platform() {
    let harness = Harness::start(NodeConfig::default()).await;
    let version = harness
        .client(ADMIN)
        .node("10.0.0.2")
        .version()
        .await
        .unwrap();
    assert_eq!(version.tag, "v1.13.2");
    assert_eq!(version.platform.as_deref(), Some("metal"));
    assert_eq!(version.semver().unwrap(), semver::Version::new(1, 13, 2));
}

#[tokio::test]
async fn every_call_carries_exactly_one_node_value() {
    let harness = Harness::start(NodeConfig::default()).await;
    let client = harness.client(ADMIN);
    client.node("10.0.0.2").version().await.unwrap();
    client.node("10.0.0.3").service_list().await.unwrap();
    client.endpoint_node().version().await.unwrap();
    let calls = harness.node.calls();
    let routed: Vec<Vec<String>> = calls.iter().map(|call| call.node_values.clone()).collect();
    assert_eq!(
        routed,
        [
            vec!["10.0.0.2".to_owned()],
            vec!["10.0.0.3".to_owned()],
            vec![]
        ]
    );
}

#[tokio::test]
async fn a_node_name_with_a_port_is_rejected_before_sending() {
    let harness = Harness::start(NodeConfig::default()).await;
    let error = harness
        .client(ADMIN)
        .node("10.0.0.2:50000")
        .version()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("has a port"), "{error}");
    assert!(harness.node.calls().is_empty());
}

#[tokio::test]
async fn apply_configuration_sends_the_full_config_and_reports_the_outcome() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let config = b"version: v1alpha1\nmachine: {}\n";

    let dry = node
        .apply_configuration(config, ApplyMode::NoReboot, true)
        .await
        .unwrap();
    assert!(dry.details.starts_with("Dry run summary:"));
    let applied = node
        .apply_configuration(config, ApplyMode::Auto, false)
        .await
        .unwrap();
    assert_eq!(applied.mode, AppliedMode::NoReboot);
    assert_eq!(applied.warnings.len(), 1);

    let sent = harness.node.state().applied.clone();
    assert_eq!(sent[0], (config.to_vec(), 2, true));
    assert_eq!(sent[1], (config.to_vec(), 1, false));
}

#[tokio::test]
async fn apply_configuration_rejection_is_an_invalid_argument_error() {
    let harness = Harness::start(NodeConfig::default()).await;
    let error = harness
        .client(ADMIN)
        .node("10.0.0.2")
        .apply_configuration(
            b"kind: ExtensionServiceConfig\n",
            ApplyMode::NoReboot,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(talos_client::Code::InvalidArgument));
    assert!(
        error.to_string().contains("did you mean to patch"),
        "{error}"
    );
}

#[tokio::test]
async fn reboot_returns_the_actor_id_and_rollback_succeeds() {
    let harness = Harness::start(NodeConfig {
        down_for_calls: 1,
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    assert_eq!(
        node.reboot(RebootMode::Powercycle).await.unwrap(),
        "actor-1"
    );
    // The node is down for one call, then back.
    assert!(node.version().await.unwrap_err().is_unavailable());
    node.rollback().await.unwrap();
}

#[tokio::test]
async fn legacy_upgrade_returns_the_actor_id() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let actor = node
        .upgrade_legacy(&LegacyUpgrade::new("ghcr.io/siderolabs/installer:v1.13.3"))
        .await
        .unwrap();
    assert_eq!(actor, "actor-1");
}

#[tokio::test]
async fn services_are_listed_and_restarted() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let services = node.service_list().await.unwrap();
    let tailscale = services
        .iter()
        .find(|service| service.id == "ext-tailscale")
        .unwrap();
    assert!(tailscale.is_running());
    assert!(tailscale.health.unknown);
    assert_eq!(
        node.service_restart("ext-tailscale").await.unwrap(),
        "Service \"ext-tailscale\" restarted"
    );
    assert!(
        node.service_restart("nope")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn logs_arrive_as_whole_lines_although_chunks_are_not_line_aligned() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let all = collect(node.logs("ext-tailscale", false, None).await.unwrap()).await;
    assert_eq!(
        all,
        [
            "boot: starting containerboot",
            "auth: logged in",
            "routes: advertised 10.0.0.0/24"
        ]
    );
    let last = collect(node.logs("ext-tailscale", false, Some(1)).await.unwrap()).await;
    assert_eq!(last, ["routes: advertised 10.0.0.0/24"]);
    assert!(
        collect(node.logs("ext-tailscale", false, Some(0)).await.unwrap())
            .await
            .is_empty()
    );
    assert!(
        node.logs("ext-missing", false, None)
            .await
            .err()
            .unwrap()
            .is_not_found()
    );
}

#[tokio::test]
async fn events_skip_the_hello_and_decode_talos_runtime_payloads() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let mut events = node.events(EventsTail::All, None).await.unwrap();
    let first = events.next().await.unwrap().unwrap();
    assert!(
        matches!(first.payload, EventPayload::MachineStatus(_)),
        "{first:?}"
    );
    let second = events.next().await.unwrap().unwrap();
    assert!(
        matches!(&second.payload, EventPayload::ServiceState(state) if state.service == "ext-tailscale")
    );
    let third = events.next().await.unwrap().unwrap();
    assert!(third.is_running_and_ready());
}

#[tokio::test]
async fn events_without_tail_start_with_the_next_event_not_the_buffer() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let mut events = node.events(EventsTail::None, None).await.unwrap();
    node.reboot(RebootMode::Default).await.unwrap();
    let first = events.next().await.unwrap().unwrap();
    assert!(first.is_going_down(), "buffered event replayed: {first:?}");
}

#[tokio::test]
async fn events_filtered_by_actor_show_only_that_actions_events() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let mut events = node
        .events(EventsTail::None, Some("actor-1"))
        .await
        .unwrap();
    node.reboot(RebootMode::Default).await.unwrap();
    let event = events.next().await.unwrap().unwrap();
    assert_eq!(event.actor_id, "actor-1");
    assert!(event.is_going_down());
}

#[tokio::test]
async fn read_and_kubeconfig_concatenate_chunks() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    assert_eq!(
        node.read("/proc/sys/kernel/random/boot_id").await.unwrap(),
        b"boot-1\n"
    );
    assert!(node.read("/etc/nothing").await.unwrap_err().is_not_found());
    assert_eq!(
        node.kubeconfig().await.unwrap(),
        b"\x1f\x8b\x08kubeconfig-archive"
    );
}

#[tokio::test]
async fn etcd_status_and_members_identify_the_leader() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(&["os:reader"]).node("10.0.0.2");
    let status = node.etcd_status().await.unwrap();
    assert_eq!((status.member_id, status.leader_id), (22, 11));
    assert!(!status.is_leader());
    let members = node.etcd_member_list().await.unwrap();
    let leader = members
        .iter()
        .find(|member| member.id == status.leader_id)
        .unwrap();
    assert_eq!(leader.hostname, "cp-1");
    assert_eq!(node.etcd_leader().await.unwrap(), *leader);
}

#[tokio::test]
async fn health_check_streams_progress_and_ends_cleanly_when_healthy() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let nodes = ClusterNodes {
        control_plane: vec!["10.0.0.2".to_owned()],
        workers: vec![],
    };
    let lines = collect(
        node.health_check(Duration::from_secs(60), &nodes)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(lines[0], "discovered nodes: [\"10.0.0.2\"]");

    let unhealthy = ClusterNodes {
        control_plane: vec![],
        workers: vec!["unhealthy".to_owned()],
    };
    let mut stream = node
        .health_check(Duration::from_secs(60), &unhealthy)
        .await
        .unwrap();
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item);
    }
    let error = last.unwrap().unwrap_err();
    assert_eq!(error.code(), Some(talos_client::Code::DeadlineExceeded));
}
