//! The simulated cluster, driven through the real talos-client (and factory-client), behaves
//! like Talos: routing, RBAC, strict config, reboots that drop streams and come back with a
//! new boot ID, upgrades that install a schematic's extensions, and ext-tailscale logging in
//! to the tailnet. Tokio time is paused: reboots and delays take no wall-clock time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use factory_client::{FactoryClient, Schematic};
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sim::talos::Timings;
use sim::{Sim, SimBuilder};
use talos_client::machine::{ApplyMode, EventsTail, RebootMode};
use talos_client::machine_config::{ConfigDocuments, ExtensionServiceConfig};
use talos_client::resources::{ExtensionStatus, MachineConfig, schematic_id};
use talos_client::upgrade::{UpgradeOptions, upgrade};
use talos_client::{NodeClient, TalosClient};

const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

fn client(sim: &Sim, roles: &[&str]) -> TalosClient {
    let config = sim.talosconfig_with_roles(roles).unwrap();
    TalosClient::connect(config.context(None).unwrap()).unwrap()
}

async fn boot_id(node: &NodeClient) -> String {
    String::from_utf8(node.read(BOOT_ID).await.unwrap()).unwrap()
}

async fn wait_until_up(node: &NodeClient) {
    for _ in 0..3600 {
        if node.version().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("node did not come back");
}

/// The node's config with an ESC named tailscale holding `environment`.
async fn config_with_tailscale(node: &NodeClient, environment: &[String]) -> ConfigDocuments {
    let current = node
        .get::<MachineConfig>("v1alpha1")
        .await
        .unwrap()
        .unwrap();
    let mut documents = ConfigDocuments::parse(&current.spec.yaml_marshalled).unwrap();
    let esc = ExtensionServiceConfig {
        name: "tailscale".to_owned(),
        config_files: Vec::new(),
        environment: environment.to_vec(),
    };
    documents.upsert_extension_service_config(&esc).unwrap();
    documents
}

async fn create_key(sim: &Sim, expiry_seconds: u64) -> SecretString {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v2/tailnet/-/keys", sim.tailnet_url()))
        .bearer_auth(sim.tailnet_api_key().expose_secret())
        .json(&json!({
            "capabilities": { "devices": { "create": {
                "reusable": true, "preauthorized": true, "tags": ["tag:k8s"] } } },
            "expirySeconds": expiry_seconds,
        }))
        .send()
        .await
        .unwrap();
    let key: Value = response.json().await.unwrap();
    SecretString::from(key["key"].as_str().unwrap().to_owned())
}

async fn devices(sim: &Sim) -> Vec<Value> {
    let body: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v2/tailnet/-/devices?fields=all",
            sim.tailnet_url()
        ))
        .bearer_auth(sim.tailnet_api_key().expose_secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["devices"].as_array().unwrap().clone()
}

fn tailscale_env(key: &SecretString) -> Vec<String> {
    vec![
        format!("TS_AUTHKEY={}", key.expose_secret()),
        "TS_ROUTES=10.43.0.0/16".to_owned(),
    ]
}

#[tokio::test(start_paused = true)]
async fn every_node_answers_through_one_endpoint_by_node_metadata() {
    let sim = Sim::builder().workers(1).start().await.unwrap();
    let talos = client(&sim, &["os:admin"]);
    for host in ["k8s-1", "k8s-4", "10.5.0.3"] {
        assert_eq!(talos.node(host).version().await.unwrap().tag, "v1.10.4");
    }
    let unknown = talos.node("k8s-9").version().await.unwrap_err();
    assert!(unknown.is_unavailable(), "{unknown}");
}

#[tokio::test(start_paused = true)]
async fn a_reader_certificate_is_denied_apply_configuration_and_sensitive_resources() {
    let sim = Sim::builder().start().await.unwrap();
    let reader = client(&sim, &["os:reader"]);
    let node = reader.node("k8s-1");
    assert_eq!(node.version().await.unwrap().tag, "v1.10.4");
    let config = sim.cluster().snapshot("k8s-1").unwrap().config;
    let denied = node
        .apply_configuration(&config, ApplyMode::NoReboot, false)
        .await
        .unwrap_err();
    assert!(denied.is_permission_denied(), "{denied}");
    let secret = node.get::<MachineConfig>("v1alpha1").await.unwrap_err();
    assert!(secret.is_permission_denied(), "{secret}");
    assert!(!node.list::<ExtensionStatus>().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn extension_statuses_list_the_seed_extensions_and_the_schematic() {
    let sim = Sim::builder().start().await.unwrap();
    let talos = client(&sim, &["os:admin"]);
    let extensions = talos.node("k8s-2").list::<ExtensionStatus>().await.unwrap();
    let names: Vec<&str> = extensions.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["i915", "mei", "schematic"]);
    let expected = Schematic::builder()
        .extensions(["siderolabs/i915", "siderolabs/mei"])
        .build()
        .id()
        .to_string();
    assert_eq!(schematic_id(&extensions), Some(expected));
}

#[tokio::test(start_paused = true)]
async fn a_reboot_drops_open_streams_answers_unavailable_and_returns_with_a_new_boot_id() {
    // Down long enough that the client's own retries cannot outlast it.
    let timings = Timings {
        reboot: Duration::from_secs(300),
        ..Timings::default()
    };
    let sim = Sim::builder().timings(timings).start().await.unwrap();
    let talos = client(&sim, &["os:admin"]);
    let node = talos.node("k8s-2");
    let before = boot_id(&node).await;
    let mut events = node.events(EventsTail::None, None).await.unwrap();

    node.reboot(RebootMode::Default).await.unwrap();

    let mut saw_going_down = false;
    let drained = tokio::time::timeout(Duration::from_secs(3600), async {
        loop {
            match events.next().await {
                Some(Ok(event)) => saw_going_down |= event.is_going_down(),
                Some(Err(error)) => break Some(error),
                None => break None,
            }
        }
    });
    let ended_with_error = drained
        .await
        .expect("the open stream must end when the node goes down");
    assert!(saw_going_down, "the stream must show the node going down");
    if let Some(error) = ended_with_error {
        assert!(error.is_unavailable(), "{error}");
    }
    let down = node.version().await.unwrap_err();
    assert!(down.is_unavailable(), "{down}");

    wait_until_up(&node).await;
    assert_ne!(boot_id(&node).await, before);
    let others_unaffected = talos.node("k8s-1").version().await;
    assert!(others_unaffected.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_node_set_to_never_return_stays_unavailable() {
    let sim = Sim::builder().start().await.unwrap();
    sim.faults().node_never_returns("k8s-3");
    let talos = client(&sim, &["os:admin"]);
    let node = talos.node("k8s-3");
    node.reboot(RebootMode::Default).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(node.version().await.unwrap_err().is_unavailable());
    assert!(!sim.cluster().snapshot("k8s-3").unwrap().up);
}

#[tokio::test(start_paused = true)]
async fn duplicate_documents_are_rejected_and_nothing_changes() {
    let sim = Sim::builder().start().await.unwrap();
    let talos = client(&sim, &["os:admin"]);
    let node = talos.node("k8s-1");
    let before = sim.cluster().snapshot("k8s-1").unwrap().config;
    let esc = "---\napiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: tailscale\nenvironment:\n  - TS_ROUTES=10.43.0.0/16\n";
    let mut doubled = before.clone();
    doubled.extend_from_slice(esc.as_bytes());
    doubled.extend_from_slice(esc.as_bytes());
    let error = node
        .apply_configuration(&doubled, ApplyMode::NoReboot, false)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("duplicate document: ExtensionServiceConfig/tailscale"),
        "{error}"
    );
    assert_eq!(sim.cluster().snapshot("k8s-1").unwrap().config, before);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_reports_a_diff_and_changes_nothing() {
    let sim = Sim::builder().start().await.unwrap();
    let talos = client(&sim, &["os:admin"]);
    let node = talos.node("k8s-1");
    let before = sim.cluster().snapshot("k8s-1").unwrap().config;
    let documents = config_with_tailscale(&node, &["TS_ROUTES=10.43.0.0/16".to_owned()]).await;
    let outcome = node
        .apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, true)
        .await
        .unwrap();
    assert!(
        outcome.details.starts_with("Dry run summary:"),
        "{}",
        outcome.details
    );
    assert!(outcome.details.contains("+kind: ExtensionServiceConfig"));
    assert_eq!(sim.cluster().snapshot("k8s-1").unwrap().config, before);
}

#[tokio::test(start_paused = true)]
async fn installing_a_schematic_with_tailscale_and_an_esc_registers_a_device_with_routes() {
    let sim = Sim::builder().start().await.unwrap();
    let talos = client(&sim, &["os:admin"]);
    let node = talos.node("k8s-1");
    let factory = FactoryClient::new(&sim.factory_url()).unwrap();
    let schematic = Schematic::builder()
        .extensions(["siderolabs/i915", "siderolabs/mei", "siderolabs/tailscale"])
        .build();
    let created = factory.create_schematic(&schematic).await.unwrap();
    let image = factory
        .installer_image(&created.id, "v1.10.4", "metal", false)
        .unwrap()
        .to_string();
    let key = create_key(&sim, 3600).await;
    let mut documents = config_with_tailscale(&node, &tailscale_env(&key)).await;
    documents.set_install_image(&image).unwrap();
    node.apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
        .await
        .unwrap();
    let waiting = sim.cluster().snapshot("k8s-1").unwrap();
    assert!(
        !waiting.services.contains_key("ext-tailscale"),
        "no extension yet"
    );

    let outcome = upgrade(&node, &UpgradeOptions::new(image.clone()), |_| {})
        .await
        .unwrap();

    assert!(outcome.rebooted);
    let extensions = node.list::<ExtensionStatus>().await.unwrap();
    assert_eq!(schematic_id(&extensions), Some(created.id.to_string()));
    assert!(extensions.iter().any(|e| e.name() == "tailscale"));
    let services = node.service_list().await.unwrap();
    let tailscale = services.iter().find(|s| s.id == "ext-tailscale").unwrap();
    assert_eq!(tailscale.state, "Running");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let devices = devices(&sim).await;
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["hostname"], "k8s-1");
    assert_eq!(devices[0]["connectedToControl"], true);
    assert_eq!(devices[0]["advertisedRoutes"], json!(["10.43.0.0/16"]));
}

#[tokio::test(start_paused = true)]
async fn an_expired_key_leaves_ext_tailscale_crash_looping_with_the_auth_error_in_its_log() {
    let sim = Sim::builder()
        .extensions(["siderolabs/tailscale"])
        .start()
        .await
        .unwrap();
    let talos = client(&sim, &["os:admin"]);
    let node = talos.node("k8s-2");
    let key = create_key(&sim, 60).await;
    tokio::time::sleep(Duration::from_secs(61)).await;
    let documents = config_with_tailscale(&node, &tailscale_env(&key)).await;
    node.apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;

    let services = node.service_list().await.unwrap();
    let tailscale = services.iter().find(|s| s.id == "ext-tailscale").unwrap();
    assert_ne!(tailscale.state, "Running");
    let log: String = node
        .logs("ext-tailscale", false, None)
        .await
        .unwrap()
        .map(|chunk| chunk.unwrap())
        .collect::<Vec<_>>()
        .await
        .concat();
    let failures = log.matches("invalid key: API key does not exist").count();
    assert!(failures >= 2, "crash loop must retry: {log}");
    assert!(
        !log.contains(key.expose_secret()),
        "the key must never be logged"
    );
    assert!(devices(&sim).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_esc_change_restarts_ext_tailscale_without_a_reboot() {
    let sim = Sim::builder()
        .extensions(["siderolabs/tailscale"])
        .start()
        .await
        .unwrap();
    let talos = client(&sim, &["os:admin"]);
    let node = talos.node("k8s-3");
    let before = boot_id(&node).await;
    let waiting = node.service_list().await.unwrap();
    let tailscale = waiting.iter().find(|s| s.id == "ext-tailscale").unwrap();
    assert_eq!(tailscale.state, "Waiting", "no ESC yet");

    let key = create_key(&sim, 3600).await;
    let documents = config_with_tailscale(&node, &tailscale_env(&key)).await;
    node.apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
        .await
        .unwrap();

    let running = node.service_list().await.unwrap();
    let tailscale = running.iter().find(|s| s.id == "ext-tailscale").unwrap();
    assert_eq!(tailscale.state, "Running");
    assert_eq!(boot_id(&node).await, before);
}

#[tokio::test(start_paused = true)]
async fn a_node_returning_without_the_extension_lacks_it_after_the_upgrade() {
    let sim: Sim = SimBuilder::default().start().await.unwrap();
    sim.faults()
        .node_returns_without_extension("k8s-1", sim::TAILSCALE_EXTENSION);
    let talos = client(&sim, &["os:admin"]);
    let node = talos.node("k8s-1");
    let factory = FactoryClient::new(&sim.factory_url()).unwrap();
    let schematic = Schematic::builder()
        .extensions(["siderolabs/i915", "siderolabs/mei", "siderolabs/tailscale"])
        .build();
    let created = factory.create_schematic(&schematic).await.unwrap();
    let image = factory
        .installer_image(&created.id, "v1.10.5", "metal", false)
        .unwrap()
        .to_string();
    upgrade(&node, &UpgradeOptions::new(image), |_| {})
        .await
        .unwrap();
    assert_eq!(node.version().await.unwrap().tag, "v1.10.5");
    let extensions = node.list::<ExtensionStatus>().await.unwrap();
    assert!(!extensions.iter().any(|e| e.name() == "tailscale"));
}
