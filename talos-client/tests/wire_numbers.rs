//! The protobuf wire shape of every message the client exchanges, checked against the
//! field numbers and types in `shared/docs/talos-api.md` (transcribed by hand below).
//!
//! The fake node in the other tests is built from the same generated code as the client,
//! so it cannot notice a wrong field number; these tests can. Each message is encoded
//! with every field set and its top-level (field number, wire type) pairs compared with
//! the facts: `V` for varints (bool, enums, integers), `L` for length-delimited
//! (string, bytes, messages, repeated and map fields).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use prost::Message;
use prost_types::{Any, Duration, Timestamp};
use talos_client::proto::cluster;
use talos_client::proto::common;
use talos_client::proto::cosi::resource as cosi;
use talos_client::proto::google::rpc::Status;
use talos_client::proto::machine;
use talos_client::proto::resource::config::MachineConfigSpec;
use talos_client::proto::talos::resource::definitions::{extensions, k8s, runtime, v1alpha1};

const V: u8 = 0;
const L: u8 = 2;

/// The (field number, wire type) of each top-level field of an encoded message, in order.
fn wire_fields(mut bytes: &[u8]) -> Vec<(u64, u8)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let byte = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        value
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        let wire_type = u8::try_from(key & 7).unwrap();
        match wire_type {
            V => {
                varint(&mut bytes);
            }
            L => {
                let len = usize::try_from(varint(&mut bytes)).unwrap();
                bytes = &bytes[len..];
            }
            other => panic!("unexpected wire type {other}"),
        }
        fields.push((key >> 3, wire_type));
    }
    fields
}

fn assert_wire(message: &(impl Message + std::fmt::Debug), expected: &[(u64, u8)]) {
    assert_eq!(
        wire_fields(&message.encode_to_vec()),
        expected,
        "{message:?}"
    );
}

fn s() -> String {
    "x".to_owned()
}

fn strings() -> Vec<String> {
    vec![s()]
}

fn map() -> HashMap<String, String> {
    HashMap::from([(s(), s())])
}

fn meta() -> Option<common::Metadata> {
    Some(common::Metadata::default())
}

#[test]
fn common_messages() {
    assert_wire(
        &common::Metadata {
            hostname: s(),
            error: s(),
            status: Some(Status::default()),
        },
        &[(1, L), (2, L), (3, L)],
    );
    assert_wire(
        &common::Data {
            metadata: meta(),
            bytes: b"x".to_vec(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &common::Error {
            code: 1,
            message: s(),
            details: vec![Any::default()],
        },
        &[(1, V), (2, L), (3, L)],
    );
    assert_wire(
        &common::ContainerdInstance {
            driver: 1,
            namespace: 1,
        },
        &[(1, V), (2, V)],
    );
}

#[test]
fn apply_reboot_rollback_and_legacy_upgrade() {
    assert_wire(
        &machine::ApplyConfigurationRequest {
            data: b"x".to_vec(),
            mode: 2,
            dry_run: true,
            try_mode_timeout: Some(Duration::default()),
        },
        &[(1, L), (4, V), (5, V), (6, L)],
    );
    assert_wire(
        &machine::ApplyConfiguration {
            metadata: meta(),
            warnings: strings(),
            mode: 2,
            mode_details: s(),
        },
        &[(1, L), (2, L), (3, V), (4, L)],
    );
    assert_wire(&machine::RebootRequest { mode: 2 }, &[(1, V)]);
    assert_wire(
        &machine::Reboot {
            metadata: meta(),
            actor_id: s(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(&machine::Rollback { metadata: meta() }, &[(1, L)]);
    assert_wire(
        &machine::UpgradeRequest {
            image: s(),
            preserve: true,
            stage: true,
            force: true,
            reboot_mode: 1,
        },
        &[(1, L), (2, V), (3, V), (4, V), (5, V)],
    );
    assert_wire(
        &machine::Upgrade {
            metadata: meta(),
            ack: s(),
            actor_id: s(),
        },
        &[(1, L), (2, L), (3, L)],
    );
}

#[test]
fn services_logs_and_read() {
    assert_wire(
        &machine::ServiceList {
            metadata: meta(),
            services: vec![machine::ServiceInfo::default()],
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &machine::ServiceInfo {
            id: s(),
            state: s(),
            events: Some(machine::ServiceEvents {
                events: vec![machine::ServiceEvent::default()],
            }),
            health: Some(machine::ServiceHealth::default()),
        },
        &[(1, L), (2, L), (3, L), (4, L)],
    );
    assert_wire(
        &machine::ServiceEvent {
            msg: s(),
            state: s(),
            ts: Some(Timestamp::default()),
        },
        &[(1, L), (2, L), (3, L)],
    );
    assert_wire(
        &machine::ServiceHealth {
            unknown: true,
            healthy: true,
            last_message: s(),
            last_change: Some(Timestamp::default()),
        },
        &[(1, V), (2, V), (3, L), (4, L)],
    );
    assert_wire(&machine::ServiceRestartRequest { id: s() }, &[(1, L)]);
    assert_wire(
        &machine::ServiceRestart {
            metadata: meta(),
            resp: s(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &machine::LogsRequest {
            namespace: s(),
            id: s(),
            driver: 1,
            follow: true,
            tail_lines: -1,
        },
        &[(1, L), (2, L), (3, V), (4, V), (5, V)],
    );
    assert_wire(&machine::ReadRequest { path: s() }, &[(1, L)]);
}

#[test]
fn events_and_their_payloads() {
    use machine::machine_status_event::MachineStatus;
    use machine::machine_status_event::machine_status::UnmetCondition;
    assert_wire(
        &machine::EventsRequest {
            tail_events: -1,
            tail_id: s(),
            tail_seconds: 1,
            with_actor_id: s(),
        },
        &[(1, V), (2, L), (3, V), (4, L)],
    );
    assert_wire(
        &machine::Event {
            metadata: meta(),
            data: Some(Any::default()),
            id: s(),
            actor_id: s(),
        },
        &[(1, L), (2, L), (3, L), (4, L)],
    );
    assert_wire(
        &machine::SequenceEvent {
            sequence: s(),
            action: 1,
            error: Some(common::Error::default()),
        },
        &[(1, L), (2, V), (3, L)],
    );
    assert_wire(
        &machine::PhaseEvent {
            phase: s(),
            action: 1,
        },
        &[(1, L), (2, V)],
    );
    assert_wire(
        &machine::TaskEvent {
            task: s(),
            action: 1,
        },
        &[(1, L), (2, V)],
    );
    assert_wire(
        &machine::ServiceStateEvent {
            service: s(),
            action: 3,
            message: s(),
            health: Some(machine::ServiceHealth::default()),
        },
        &[(1, L), (2, V), (3, L), (4, L)],
    );
    assert_wire(
        &machine::MachineStatusEvent {
            stage: 4,
            status: Some(MachineStatus::default()),
        },
        &[(1, V), (2, L)],
    );
    assert_wire(
        &MachineStatus {
            ready: true,
            unmet_conditions: vec![UnmetCondition::default()],
        },
        &[(1, V), (2, L)],
    );
    assert_wire(
        &UnmetCondition {
            name: s(),
            reason: s(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(&machine::RestartEvent { cmd: 1 }, &[(1, V)]);
    assert_wire(&machine::ConfigLoadErrorEvent { error: s() }, &[(1, L)]);
    assert_wire(
        &machine::ConfigValidationErrorEvent { error: s() },
        &[(1, L)],
    );
    assert_wire(
        &machine::AddressEvent {
            hostname: s(),
            addresses: strings(),
        },
        &[(1, L), (2, L)],
    );
}

#[test]
fn version_and_etcd() {
    assert_wire(
        &machine::Version {
            metadata: meta(),
            version: Some(machine::VersionInfo::default()),
            platform: Some(machine::PlatformInfo::default()),
            features: Some(machine::FeaturesInfo::default()),
        },
        &[(1, L), (2, L), (3, L), (4, L)],
    );
    assert_wire(
        &machine::VersionInfo {
            tag: s(),
            sha: s(),
            built: s(),
            go_version: s(),
            os: s(),
            arch: s(),
        },
        &[(1, L), (2, L), (3, L), (4, L), (5, L), (6, L)],
    );
    assert_wire(
        &machine::PlatformInfo {
            name: s(),
            mode: s(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(&machine::FeaturesInfo { rbac: true }, &[(1, V)]);
    assert_wire(
        &machine::EtcdStatus {
            metadata: meta(),
            member_status: Some(machine::EtcdMemberStatus::default()),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &machine::EtcdMemberStatus {
            protocol_version: s(),
            db_size: 1,
            db_size_in_use: 1,
            leader: 1,
            raft_index: 1,
            raft_term: 1,
            raft_applied_index: 1,
            errors: strings(),
            is_learner: true,
            member_id: 1,
            storage_version: s(),
        },
        &[
            (1, L),
            (2, V),
            (3, V),
            (4, V),
            (5, V),
            (6, V),
            (7, V),
            (8, L),
            (9, V),
            (10, V),
            (11, L),
        ],
    );
    assert_wire(
        &machine::EtcdMemberListRequest { query_local: true },
        &[(1, V)],
    );
    assert_wire(
        &machine::EtcdMembers {
            metadata: meta(),
            legacy_members: strings(),
            members: vec![machine::EtcdMember::default()],
        },
        &[(1, L), (2, L), (3, L)],
    );
    assert_wire(
        &machine::EtcdMember {
            id: 1,
            hostname: s(),
            peer_urls: strings(),
            client_urls: strings(),
            is_learner: true,
        },
        &[(2, V), (3, L), (4, L), (5, L), (6, V)],
    );
}

#[test]
fn image_pull_and_lifecycle_upgrade() {
    use machine::image_service_pull_response::Response as Pull;
    use machine::lifecycle_service_install_progress::Response as Install;
    assert_wire(
        &machine::ImageServicePullRequest {
            containerd: Some(common::ContainerdInstance::default()),
            image_ref: s(),
        },
        &[(1, L), (3, L)],
    );
    assert_wire(
        &machine::ImageServicePullResponse {
            response: Some(Pull::Name(s())),
        },
        &[(1, L)],
    );
    assert_wire(
        &machine::ImageServicePullResponse {
            response: Some(Pull::PullProgress(Default::default())),
        },
        &[(2, L)],
    );
    assert_wire(
        &machine::ImageServicePullProgress {
            layer_id: s(),
            progress: Some(Default::default()),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &machine::ImageServicePullLayerProgress {
            status: 1,
            elapsed: Some(Duration::default()),
            offset: 1,
            total: 1,
        },
        &[(1, V), (2, L), (3, V), (4, V)],
    );
    assert_wire(
        &machine::LifecycleServiceUpgradeRequest {
            containerd: Some(common::ContainerdInstance::default()),
            source: Some(machine::InstallArtifactsSource { image_name: s() }),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &machine::InstallArtifactsSource { image_name: s() },
        &[(1, L)],
    );
    assert_wire(
        &machine::LifecycleServiceUpgradeResponse {
            progress: Some(Default::default()),
        },
        &[(1, L)],
    );
    assert_wire(
        &machine::LifecycleServiceInstallProgress {
            response: Some(Install::Message(s())),
        },
        &[(1, L)],
    );
    assert_wire(
        &machine::LifecycleServiceInstallProgress {
            response: Some(Install::ExitCode(1)),
        },
        &[(2, V)],
    );
}

#[test]
fn cluster_health_check() {
    assert_wire(
        &cluster::HealthCheckRequest {
            wait_timeout: Some(Duration::default()),
            cluster_info: Some(cluster::ClusterInfo::default()),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &cluster::ClusterInfo {
            control_plane_nodes: strings(),
            worker_nodes: strings(),
            force_endpoint: s(),
        },
        &[(1, L), (2, L), (3, L)],
    );
    assert_wire(
        &cluster::HealthCheckProgress {
            metadata: meta(),
            message: s(),
        },
        &[(1, L), (2, L)],
    );
}

#[test]
fn cosi_state_messages() {
    assert_wire(
        &cosi::Metadata {
            namespace: s(),
            r#type: s(),
            id: s(),
            version: s(),
            owner: s(),
            phase: s(),
            created: Some(Timestamp::default()),
            updated: Some(Timestamp::default()),
            finalizers: strings(),
            labels: map(),
            annotations: map(),
        },
        &(1..=11).map(|field| (field, L)).collect::<Vec<_>>(),
    );
    assert_wire(
        &cosi::Spec {
            proto_spec: b"x".to_vec(),
            yaml_spec: s(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &cosi::Resource {
            metadata: Some(cosi::Metadata::default()),
            spec: Some(cosi::Spec::default()),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &cosi::GetRequest {
            namespace: s(),
            r#type: s(),
            id: s(),
            options: Some(cosi::GetOptions {}),
        },
        &[(1, L), (2, L), (3, L), (4, L)],
    );
    assert_wire(
        &cosi::ListRequest {
            namespace: s(),
            r#type: s(),
            options: Some(cosi::ListOptions::default()),
        },
        &[(1, L), (2, L), (3, L)],
    );
    assert_wire(
        &cosi::ListOptions {
            label_query: vec![cosi::LabelQuery::default()],
            id_query: Some(cosi::IdQuery { regexp: s() }),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(&cosi::IdQuery { regexp: s() }, &[(1, L)]);
    assert_wire(
        &cosi::WatchRequest {
            namespace: s(),
            r#type: s(),
            id: Some(s()),
            options: Some(cosi::WatchOptions::default()),
            api_version: 1,
        },
        &[(1, L), (2, L), (3, L), (4, L), (5, V)],
    );
    assert_wire(
        &cosi::WatchOptions {
            bootstrap_contents: true,
            tail_events: 1,
            label_query: vec![cosi::LabelQuery::default()],
            id_query: Some(cosi::IdQuery::default()),
            aggregated: true,
            start_from_bookmark: Some(b"x".to_vec()),
            bootstrap_bookmark: true,
        },
        &[(1, V), (2, V), (3, L), (4, L), (5, V), (6, L), (7, V)],
    );
    assert_wire(
        &cosi::WatchResponse {
            event: vec![cosi::Event::default()],
        },
        &[(1, L)],
    );
    assert_wire(
        &cosi::Event {
            resource: Some(cosi::Resource::default()),
            event_type: 1,
            old: Some(cosi::Resource::default()),
            error: Some(s()),
            bookmark: Some(b"x".to_vec()),
        },
        &[(1, L), (2, V), (3, L), (4, L), (5, L)],
    );
}

#[test]
fn resource_specs() {
    assert_wire(
        &MachineConfigSpec {
            yaml_marshalled: b"x".to_vec(),
        },
        &[(1, L)],
    );
    assert_wire(
        &extensions::Layer {
            image: s(),
            metadata: Some(extensions::Metadata::default()),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &extensions::Metadata {
            name: s(),
            version: s(),
            author: s(),
            description: s(),
            compatibility: Some(extensions::Compatibility {
                talos: Some(extensions::Constraint { version: s() }),
            }),
            extra_info: s(),
        },
        &[(1, L), (2, L), (3, L), (4, L), (5, L), (6, L)],
    );
    assert_wire(
        &extensions::Compatibility {
            talos: Some(extensions::Constraint { version: s() }),
        },
        &[(1, L)],
    );
    assert_wire(&extensions::Constraint { version: s() }, &[(1, L)]);
    assert_wire(
        &runtime::ExtensionServiceConfigSpec {
            files: vec![runtime::ExtensionServiceConfigFile::default()],
            environment: strings(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &runtime::ExtensionServiceConfigFile {
            content: s(),
            mount_path: s(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &runtime::ExtensionServiceConfigStatusSpec { spec_version: s() },
        &[(1, L)],
    );
    assert_wire(
        &runtime::KernelParamStatusSpec {
            current: s(),
            r#default: s(),
            unsupported: true,
        },
        &[(1, L), (2, L), (3, V)],
    );
    assert_wire(
        &runtime::MachineStatusSpec {
            stage: 4,
            status: Some(runtime::MachineStatusStatus::default()),
        },
        &[(1, V), (2, L)],
    );
    assert_wire(
        &runtime::MachineStatusStatus {
            ready: true,
            unmet_conditions: vec![runtime::UnmetCondition::default()],
        },
        &[(1, V), (2, L)],
    );
    assert_wire(
        &runtime::UnmetCondition {
            name: s(),
            reason: s(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(
        &runtime::VersionSpec {
            version: s(),
            name: s(),
        },
        &[(1, L), (2, L)],
    );
    assert_wire(&runtime::BootIdSpec { boot_id: s() }, &[(1, L)]);
    assert_wire(
        &runtime::ImageFactorySchematicSpec {
            schematic_id: s(),
            flavor: s(),
            apiurl: s(),
        },
        &[(1, L), (2, L), (3, L)],
    );
    assert_wire(
        &v1alpha1::ServiceSpec {
            running: true,
            healthy: true,
            unknown: true,
        },
        &[(1, V), (2, V), (3, V)],
    );
    assert_wire(
        &k8s::NodenameSpec {
            nodename: s(),
            hostname_version: s(),
            skip_node_registration: true,
        },
        &[(1, L), (2, L), (3, V)],
    );
    assert_wire(
        &k8s::NodeStatusSpec {
            nodename: s(),
            node_ready: true,
            unschedulable: true,
            labels: map(),
            annotations: map(),
            pod_cidrs: strings(),
        },
        &[(1, L), (2, V), (3, V), (4, L), (5, L), (6, L)],
    );
}

#[test]
fn enum_values_match_upstream() {
    use machine::apply_configuration_request::Mode;
    use machine::machine_status_event::MachineStage;
    assert_eq!(
        [
            Mode::Reboot,
            Mode::Auto,
            Mode::NoReboot,
            Mode::Staged,
            Mode::Try
        ]
        .map(|m| m as i32),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(machine::reboot_request::Mode::Force as i32, 2);
    assert_eq!(machine::upgrade_request::RebootMode::Powercycle as i32, 1);
    assert_eq!(MachineStage::Running as i32, 4);
    assert_eq!(MachineStage::Upgrading as i32, 8);
    assert_eq!(
        talos_client::proto::talos::resource::definitions::enums::RuntimeMachineStage::MachineStageRunning as i32,
        4
    );
    assert_eq!(machine::service_state_event::Action::Running as i32, 3);
    assert_eq!(machine::service_state_event::Action::Starting as i32, 8);
    assert_eq!(machine::sequence_event::Action::Stop as i32, 2);
    assert_eq!(common::ContainerDriver::Cri as i32, 1);
    assert_eq!(common::ContainerdNamespace::NsCri as i32, 2);
    assert_eq!(
        machine::image_service_pull_layer_progress::Status::AlreadyExists as i32,
        4
    );
    assert_eq!(cosi::EventType::Bootstrapped as i32, 3);
    assert_eq!(cosi::EventType::Noop as i32, 5);
}

#[test]
fn method_paths_are_the_generated_services_methods() {
    use talos_client::methods;
    let path = |service: &str, method: &str| format!("/{service}/{method}");
    let machine = machine::machine_service_server::SERVICE_NAME;
    assert_eq!(methods::VERSION, path(machine, "Version"));
    assert_eq!(
        methods::APPLY_CONFIGURATION,
        path(machine, "ApplyConfiguration")
    );
    assert_eq!(methods::UPGRADE, path(machine, "Upgrade"));
    assert_eq!(methods::REBOOT, path(machine, "Reboot"));
    assert_eq!(methods::ROLLBACK, path(machine, "Rollback"));
    assert_eq!(methods::SERVICE_LIST, path(machine, "ServiceList"));
    assert_eq!(methods::SERVICE_RESTART, path(machine, "ServiceRestart"));
    assert_eq!(methods::LOGS, path(machine, "Logs"));
    assert_eq!(methods::EVENTS, path(machine, "Events"));
    assert_eq!(methods::READ, path(machine, "Read"));
    assert_eq!(methods::ETCD_STATUS, path(machine, "EtcdStatus"));
    assert_eq!(methods::ETCD_MEMBER_LIST, path(machine, "EtcdMemberList"));
    assert_eq!(methods::KUBECONFIG, path(machine, "Kubeconfig"));
    assert_eq!(
        methods::IMAGE_PULL,
        path(machine::image_service_server::SERVICE_NAME, "Pull")
    );
    assert_eq!(
        methods::LIFECYCLE_UPGRADE,
        path(machine::lifecycle_service_server::SERVICE_NAME, "Upgrade")
    );
    assert_eq!(
        methods::HEALTH_CHECK,
        path(cluster::cluster_service_server::SERVICE_NAME, "HealthCheck")
    );
    let state = cosi::state_server::SERVICE_NAME;
    assert_eq!(methods::RESOURCE_GET, path(state, "Get"));
    assert_eq!(methods::RESOURCE_LIST, path(state, "List"));
    assert_eq!(methods::RESOURCE_WATCH, path(state, "Watch"));
}

#[test]
fn services_are_named_as_upstream() {
    // Package + service form the method path (`/machine.MachineService/Version`).
    assert_eq!(
        [
            machine::machine_service_server::SERVICE_NAME,
            machine::image_service_server::SERVICE_NAME,
            machine::lifecycle_service_server::SERVICE_NAME,
            cluster::cluster_service_server::SERVICE_NAME,
            cosi::state_server::SERVICE_NAME,
        ],
        [
            "machine.MachineService",
            "machine.ImageService",
            "machine.LifecycleService",
            "cluster.ClusterService",
            "cosi.resource.State",
        ]
    );
}
