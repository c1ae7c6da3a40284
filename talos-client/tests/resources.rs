//! COSI get/list/watch with typed specs against an in-process node.

#![allow(clippy::unwrap_used)]

mod support;

use futures::StreamExt;
use secrecy::ExposeSecret;
use support::{Harness, NodeConfig, SCHEMATIC_ID};
use talos_client::machine::MachineStage;
use talos_client::resources::{
    ExtensionServiceConfig, ExtensionServiceConfigStatus, ExtensionStatus, KernelParamStatus,
    MachineConfig, Resource, WatchEvent,
};

const ADMIN: &[&str] = &["os:admin"];
const READER: &[&str] = &["os:reader"];

#[tokio::test]
async fn extensions_and_the_schematic_id_are_read_with_a_reader_certificate() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(READER).node("10.0.0.2");
    let extensions = node.extensions().await.unwrap();
    let names: Vec<&str> = extensions.iter().map(Resource::name).collect();
    assert_eq!(names, ["tailscale", "schematic"]);
    assert_eq!(extensions[0].version(), "1.102.2");
    assert!(extensions[1].is_schematic());
    assert_eq!(
        node.schematic_id().await.unwrap().as_deref(),
        Some(SCHEMATIC_ID)
    );
}

#[tokio::test]
async fn the_machine_config_comes_back_byte_for_byte() {
    let config = NodeConfig::default();
    let expected = config.machine_config.clone();
    let harness = Harness::start(config).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    assert_eq!(
        node.machine_config().await.unwrap().expose_secret(),
        expected.as_slice()
    );
    let resource = node
        .get::<MachineConfig>("v1alpha1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resource.config_bytes(), expected.as_slice());
    assert_eq!(resource.metadata.namespace, "config");
}

#[tokio::test]
async fn sensitive_resources_need_admin_and_say_so() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(READER).node("10.0.0.2");
    let error = node.machine_config().await.unwrap_err();
    assert!(error.is_permission_denied());
    assert!(error.to_string().contains("needs os:admin"), "{error}");
    let error = node
        .get::<ExtensionServiceConfig>("tailscale")
        .await
        .unwrap_err();
    assert!(error.is_permission_denied());
}

#[tokio::test]
async fn typed_specs_decode_for_each_runtime_kind() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let status = node.machine_status().await.unwrap();
    assert_eq!(status.stage(), MachineStage::Running);
    assert!(status.is_ready());
    assert!(status.unmet_conditions().is_empty());

    let esc = node
        .get::<ExtensionServiceConfig>("tailscale")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(esc.spec.environment, ["TS_AUTHKEY=tskey-secret"]);
    assert_eq!(esc.metadata.version, "4");
    assert!(
        !format!("{esc:?}").contains("tskey"),
        "secrets must not show in Debug"
    );
    let raw = node
        .get_raw(
            "runtime",
            "ExtensionServiceConfigs.runtime.talos.dev",
            "tailscale",
        )
        .await
        .unwrap()
        .unwrap();
    assert!(format!("{raw:?}").contains("redacted"));
    assert!(raw.proto_spec.windows(5).any(|window| window == b"tskey"));
    let esc_status = node
        .get::<ExtensionServiceConfigStatus>("tailscale")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(esc_status.spec.spec_version, esc.metadata.version);

    let forward = node
        .get::<KernelParamStatus>("proc.sys.net.ipv4.ip_forward")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(forward.spec.current, "1");
    assert_eq!(forward.spec.r#default, "0");
}

#[tokio::test]
async fn a_missing_resource_is_none() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    assert!(
        node.get::<ExtensionServiceConfig>("nope")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        node.get_raw("runtime", "ExtensionStatuses.runtime.talos.dev", "9")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_raw_escape_hatch_reads_any_type() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let raw = node
        .list_raw("runtime", "ExtensionStatuses.runtime.talos.dev")
        .await
        .unwrap();
    assert_eq!(raw.len(), 2);
    assert!(raw[0].yaml_spec.contains("ExtensionStatuses"));
    let decoded = Resource::<ExtensionStatus>::from_raw(raw[1].clone()).unwrap();
    assert!(decoded.is_schematic());
    // Bytes that are not the spec message report a decode error naming the resource.
    let mut broken = raw[0].clone();
    broken.proto_spec = vec![0x0a, 0xff];
    let error = Resource::<ExtensionStatus>::from_raw(broken).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("ExtensionStatuses.runtime.talos.dev/0"),
        "{error}"
    );
}

#[tokio::test]
async fn the_boot_id_comes_from_the_resource_on_new_nodes() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(READER).node("10.0.0.2");
    assert_eq!(node.boot_id().await.unwrap(), "boot-1");
    assert!(
        !harness
            .node
            .methods()
            .iter()
            .any(|method| method.ends_with("/Read"))
    );
}

#[tokio::test]
async fn the_boot_id_falls_back_to_the_kernel_file_on_older_nodes() {
    let harness = Harness::start(NodeConfig {
        boot_id_resource: false,
        ..NodeConfig::default()
    })
    .await;
    assert_eq!(
        harness
            .client(ADMIN)
            .node("10.0.0.2")
            .boot_id()
            .await
            .unwrap(),
        "boot-1"
    );
    assert_eq!(
        harness.node.methods(),
        ["/cosi.resource.State/Get", "/machine.MachineService/Read"]
    );
    // Without admin, the fallback is refused, and the error says why.
    let error = harness
        .client(READER)
        .node("10.0.0.2")
        .boot_id()
        .await
        .unwrap_err();
    assert!(error.is_permission_denied());
}

#[tokio::test]
async fn watching_a_kind_sends_the_contents_then_changes() {
    let harness = Harness::start(NodeConfig::default()).await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let mut watch = node
        .watch::<ExtensionServiceConfigStatus>(None)
        .await
        .unwrap();
    let created = watch.next().await.unwrap().unwrap();
    assert!(matches!(&created, WatchEvent::Created(status) if status.spec.spec_version == "4"));
    assert!(matches!(
        watch.next().await.unwrap().unwrap(),
        WatchEvent::Bootstrapped
    ));

    use talos_client::proto::cosi::resource::{Metadata, Resource as WireResource, Spec};
    use talos_client::proto::talos::resource::definitions::runtime::ExtensionServiceConfigStatusSpec;
    let updated = WireResource {
        metadata: Some(Metadata {
            namespace: "runtime".to_owned(),
            r#type: "ExtensionServiceConfigStatuses.runtime.talos.dev".to_owned(),
            id: "tailscale".to_owned(),
            version: "3".to_owned(),
            ..Default::default()
        }),
        spec: Some(Spec {
            proto_spec: prost::Message::encode_to_vec(&ExtensionServiceConfigStatusSpec {
                spec_version: "5".to_owned(),
            }),
            yaml_spec: String::new(),
        }),
    };
    harness.node.update_resource(updated);
    match watch.next().await.unwrap().unwrap() {
        WatchEvent::Updated { old, new } => {
            assert_eq!(new.spec.spec_version, "5");
            assert_eq!(old.unwrap().spec.spec_version, "4");
        }
        other => panic!("expected an update, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unregistered_type_is_permission_denied_like_talos() {
    let harness = Harness::start(NodeConfig {
        boot_id_resource: false,
        ..NodeConfig::default()
    })
    .await;
    let error = harness
        .client(ADMIN)
        .node("10.0.0.2")
        .get::<talos_client::resources::BootId>("boot-id")
        .await
        .unwrap_err();
    assert!(error.is_permission_denied());
    // An admin is not told to get another role: the node's own reason is kept.
    let message = error.to_string();
    assert!(message.contains("is not registered"), "{message}");
    assert!(!message.contains("permission denied: needs"), "{message}");
}

#[tokio::test]
async fn messages_above_tonics_4_mib_default_are_accepted() {
    let mut machine_config = b"version: v1alpha1\n".to_vec();
    machine_config.resize(6 * 1024 * 1024, b'#');
    let harness = Harness::start(NodeConfig {
        machine_config: machine_config.clone(),
        ..NodeConfig::default()
    })
    .await;
    let node = harness.client(ADMIN).node("10.0.0.2");
    let read = node.machine_config().await.unwrap();
    assert_eq!(read.expose_secret().len(), machine_config.len());
}
