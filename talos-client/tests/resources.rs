//! COSI get/list/watch with typed specs against the simulated cluster.

#![allow(clippy::unwrap_used)]

mod support;

use futures::StreamExt;
use secrecy::ExposeSecret;
use support::{
    BOOT_ID_VERSION, LIFECYCLE_VERSION, NODE, client, configure_tailscale, one_node,
    received_methods, resource_reads, snapshot, start,
};
use talos_client::machine::{ApplyMode, MachineStage};
use talos_client::methods;
use talos_client::resources::{
    BootId, ExtensionServiceConfig, ExtensionServiceConfigStatus, ExtensionStatus,
    ImageFactorySchematic, KernelParamStatus, MachineConfig, Resource, ResourceKind, WatchEvent,
};

const ADMIN: &[&str] = &["os:admin"];
const READER: &[&str] = &["os:reader"];

#[tokio::test]
async fn extensions_and_the_schematic_id_are_read_with_a_reader_certificate() {
    let sim = start(one_node()).await;
    let node = client(&sim, READER).node(NODE);
    let extensions = node.extensions().await.unwrap();
    let names: Vec<&str> = extensions.iter().map(Resource::name).collect();
    assert_eq!(names, snapshot(&sim).extensions);
    assert_eq!(names, ["tailscale", "schematic"]);
    assert!(!extensions[0].version().is_empty());
    assert!(extensions[1].is_schematic());
    assert_eq!(
        node.schematic_id().await.unwrap(),
        snapshot(&sim).schematic_id
    );
}

#[tokio::test]
async fn the_machine_config_comes_back_byte_for_byte() {
    let sim = start(one_node()).await;
    let expected = snapshot(&sim).config;
    let node = client(&sim, ADMIN).node(NODE);
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
    let sim = start(one_node()).await;
    configure_tailscale(&sim, &["TS_ACCEPT_DNS=false"]).await;
    let node = client(&sim, READER).node(NODE);
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
    let sim = start(one_node()).await;
    configure_tailscale(&sim, &["TS_AUTHKEY=tskey-secret"]).await;
    let node = client(&sim, ADMIN).node(NODE);
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
    let sim = start(one_node()).await;
    let node = client(&sim, ADMIN).node(NODE);
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
    let sim = start(one_node()).await;
    let node = client(&sim, ADMIN).node(NODE);
    let raw = node
        .list_raw("runtime", "ExtensionStatuses.runtime.talos.dev")
        .await
        .unwrap();
    assert_eq!(raw.len(), 2);
    assert!(
        raw[0].yaml_spec.contains("name: tailscale"),
        "{}",
        raw[0].yaml_spec
    );
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
    let sim = start(one_node().talos_version(BOOT_ID_VERSION)).await;
    let node = client(&sim, READER).node(NODE);
    assert_eq!(
        node.boot_id_for(BOOT_ID_VERSION).await.unwrap(),
        snapshot(&sim).boot_id
    );
    assert_eq!(
        resource_reads(&sim),
        [(methods::RESOURCE_GET.to_owned(), BootId::TYPE.to_owned())]
    );
    assert!(
        !received_methods(&sim)
            .iter()
            .any(|method| method == methods::READ)
    );
}

#[tokio::test]
async fn older_nodes_read_the_kernel_file_without_asking_for_the_resource() {
    // Talos 1.13 has no BootIDs resource: the node would refuse it as permission denied.
    let sim = start(one_node()).await;
    let node = client(&sim, ADMIN).node(NODE);
    assert_eq!(
        node.boot_id_for(LIFECYCLE_VERSION).await.unwrap(),
        snapshot(&sim).boot_id
    );
    assert_eq!(received_methods(&sim), [methods::READ]);
    // Without the version, it is read first: still no BootIDs call.
    assert_eq!(node.boot_id().await.unwrap(), snapshot(&sim).boot_id);
    assert_eq!(
        received_methods(&sim),
        [methods::READ, methods::VERSION, methods::READ]
    );
    assert!(resource_reads(&sim).is_empty());
    // Without admin, the kernel file is refused, and the error says why.
    let error = client(&sim, READER).node(NODE).boot_id().await.unwrap_err();
    assert!(error.is_permission_denied());
}

#[tokio::test]
async fn a_node_older_than_its_recorded_version_still_gives_its_boot_id() {
    // The version was read before a downgrade: the node refuses BootIDs, the file answers.
    let sim = start(one_node()).await;
    let node = client(&sim, ADMIN).node(NODE);
    assert_eq!(
        node.boot_id_for(BOOT_ID_VERSION).await.unwrap(),
        snapshot(&sim).boot_id
    );
    assert_eq!(
        received_methods(&sim),
        [methods::RESOURCE_GET, methods::READ]
    );
}

#[tokio::test]
async fn new_nodes_report_the_same_schematic_in_the_resource_and_the_pseudo_extension() {
    let sim = start(one_node().talos_version(BOOT_ID_VERSION)).await;
    let node = client(&sim, READER).node(NODE);
    let factory = node
        .image_factory_schematic(BOOT_ID_VERSION)
        .await
        .unwrap()
        .unwrap();
    let expected = snapshot(&sim).schematic_id;
    assert_eq!(Some(factory.spec.schematic_id.clone()), expected);
    assert!(factory.spec.apiurl.starts_with("https://"));
    assert_eq!(node.schematic_id().await.unwrap(), expected);
    assert_eq!(
        node.schematic_id_for(BOOT_ID_VERSION).await.unwrap(),
        expected
    );
    // The resource answers: the extensions are not listed for it.
    assert_eq!(
        resource_reads(&sim).last().unwrap(),
        &(
            methods::RESOURCE_GET.to_owned(),
            ImageFactorySchematic::TYPE.to_owned()
        )
    );
}

#[tokio::test]
async fn older_nodes_report_the_schematic_only_as_the_pseudo_extension() {
    let sim = start(one_node()).await;
    let node = client(&sim, READER).node(NODE);
    assert!(
        node.image_factory_schematic(LIFECYCLE_VERSION)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        node.schematic_id_for(LIFECYCLE_VERSION).await.unwrap(),
        snapshot(&sim).schematic_id
    );
    assert_eq!(
        resource_reads(&sim),
        [(
            methods::RESOURCE_LIST.to_owned(),
            ExtensionStatus::TYPE.to_owned()
        )]
    );
    // Asked anyway, the node answers as Talos does for an unregistered type.
    let error = node
        .get::<ImageFactorySchematic>("image-factory-schematic")
        .await
        .unwrap_err();
    assert!(error.is_permission_denied(), "{error}");
}

#[tokio::test]
async fn watching_a_kind_sends_the_contents_then_changes() {
    let sim = start(one_node()).await;
    configure_tailscale(&sim, &["TS_ACCEPT_DNS=false"]).await;
    let node = client(&sim, ADMIN).node(NODE);
    let mut watch = node
        .watch::<ExtensionServiceConfigStatus>(None)
        .await
        .unwrap();
    let created = watch.next().await.unwrap().unwrap();
    assert!(
        matches!(&created, WatchEvent::Created(status) if status.spec.spec_version == "1"),
        "{created:?}"
    );
    assert!(matches!(
        watch.next().await.unwrap().unwrap(),
        WatchEvent::Bootstrapped
    ));

    // A changed ESC is a new spec version of its status.
    configure_tailscale(&sim, &["TS_ACCEPT_DNS=true"]).await;
    match watch.next().await.unwrap().unwrap() {
        WatchEvent::Updated { old, new } => {
            assert_eq!(new.spec.spec_version, "2");
            assert_eq!(old.unwrap().spec.spec_version, "1");
        }
        other => panic!("expected an update, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unregistered_type_is_permission_denied_like_talos() {
    // Talos 1.13 has no BootIDs resource.
    let sim = start(one_node()).await;
    let error = client(&sim, ADMIN)
        .node(NODE)
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
    let sim = start(one_node()).await;
    let mut machine_config = snapshot(&sim).config;
    machine_config.extend_from_slice(b"# ");
    machine_config.resize(4 * 1024 * 1024 + 512 * 1024, b'#');
    machine_config.push(b'\n');
    let node = client(&sim, ADMIN).node(NODE);
    node.apply_configuration(&machine_config, ApplyMode::NoReboot, false)
        .await
        .unwrap();
    let read = node.machine_config().await.unwrap();
    assert_eq!(read.expose_secret().len(), machine_config.len());
}
