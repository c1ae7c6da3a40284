//! A node's API "over the tailnet": its device's MagicDNS name and addresses lead to the
//! node's own apid, whose certificate carries the node's addresses and `machine.certSANs`.
//! TLS is verified for real: the name only works once it is in `machine.certSANs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sim::Sim;
use sim::tailnet::TailnetOptions;
use sim::talos::Timings;
use talos_client::machine::ApplyMode;
use talos_client::machine_config::{CertSans, ConfigDocuments, ExtensionServiceConfig};
use talos_client::resources::MachineConfig;
use talos_client::{NodeClient, TalosClient};

const FAST: Timings = Timings {
    shutdown: Duration::from_millis(20),
    reboot: Duration::from_millis(100),
    boot: Duration::from_millis(20),
    service_restart: Duration::from_millis(100),
    install: Duration::ZERO,
};

/// A one-node cluster that already runs the tailscale extension.
async fn sim_with_tailscale() -> Sim {
    Sim::builder()
        .control_planes(1)
        .extensions(["siderolabs/tailscale"])
        .timings(FAST)
        .tailnet(TailnetOptions {
            appear_delay: Duration::from_millis(50),
            ..TailnetOptions::default()
        })
        .start()
        .await
        .unwrap()
}

fn lan_client(sim: &Sim) -> TalosClient {
    TalosClient::connect(sim.talosconfig().unwrap().context(None).unwrap()).unwrap()
}

/// A client whose only endpoint is `host` (port 50000), dialled through the sim's tailnet.
fn tailnet_client(sim: &Sim, host: &str) -> TalosClient {
    let identity = sim
        .talosconfig()
        .unwrap()
        .context(None)
        .unwrap()
        .identity()
        .clone();
    let mut builder = TalosClient::builder()
        .endpoint(host)
        .identity(identity)
        .connect_timeout(Duration::from_secs(5));
    for (name, address) in sim.tailnet_hosts() {
        builder = builder.resolve(name, address);
    }
    builder.build().unwrap()
}

async fn current_config(node: &NodeClient) -> ConfigDocuments {
    let current = node
        .get::<MachineConfig>("v1alpha1")
        .await
        .unwrap()
        .unwrap();
    ConfigDocuments::parse(&current.spec.yaml_marshalled).unwrap()
}

async fn create_key(sim: &Sim) -> SecretString {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v2/tailnet/-/keys", sim.tailnet_url()))
        .bearer_auth(sim.tailnet_api_key().expose_secret())
        .json(&json!({
            "capabilities": { "devices": { "create": {
                "reusable": true, "preauthorized": true, "tags": ["tag:k8s"] } } },
            "expirySeconds": 3600,
        }))
        .send()
        .await
        .unwrap();
    let key: Value = response.json().await.unwrap();
    SecretString::from(key["key"].as_str().unwrap().to_owned())
}

/// Logs k8s-1 in to the tailnet and waits until its device is visible.
async fn join_tailnet(sim: &Sim) {
    let node = lan_client(sim).node("k8s-1");
    let mut documents = current_config(&node).await;
    documents
        .upsert_extension_service_config(&ExtensionServiceConfig {
            name: "tailscale".to_owned(),
            config_files: Vec::new(),
            environment: vec![format!(
                "TS_AUTHKEY={}",
                create_key(sim).await.expose_secret()
            )],
        })
        .unwrap();
    node.apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
        .await
        .unwrap();
    for _ in 0..500 {
        if sim.tailnet_addresses("k8s-1").is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("k8s-1 never joined the tailnet");
}

#[tokio::test]
async fn devices_get_addresses_in_the_tailnet_ranges_and_a_magicdns_name() {
    let sim = sim_with_tailscale().await;
    join_tailnet(&sim).await;
    let addresses = sim.tailnet_addresses("k8s-1").unwrap();
    assert!(addresses.fqdn.starts_with("k8s-1.") && addresses.fqdn.ends_with(".ts.net"));
    assert_eq!(addresses.ipv4.octets()[0], 100);
    assert_eq!(addresses.ipv4.octets()[1] & 0b1100_0000, 64);
    assert_eq!(addresses.ipv6.segments()[..3], [0xfd7a, 0x115c, 0xa1e0]);
    let hosts = sim.tailnet_hosts();
    assert_eq!(
        hosts.get(&addresses.fqdn),
        sim.node_endpoint("k8s-1").as_ref()
    );
}

#[tokio::test]
async fn the_magicdns_name_fails_tls_until_it_is_in_machine_cert_sans() {
    let sim = sim_with_tailscale().await;
    join_tailnet(&sim).await;
    let fqdn = sim.tailnet_addresses("k8s-1").unwrap().fqdn;

    let refused = tailnet_client(&sim, &fqdn).endpoint_node().version().await;
    let error = refused.expect_err("the certificate does not name the MagicDNS name yet");
    assert!(
        error.to_string().contains("not valid for name")
            || error.to_string().contains("NotValidForName"),
        "{error}"
    );

    let node = lan_client(&sim).node("k8s-1");
    let mut documents = current_config(&node).await;
    documents
        .add_cert_sans(CertSans::Machine, std::slice::from_ref(&fqdn))
        .unwrap();
    node.apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
        .await
        .unwrap();

    let version = tailnet_client(&sim, &fqdn).endpoint_node().version().await;
    assert!(version.is_ok(), "{version:?}");
    assert_eq!(
        sim.cluster().snapshot("k8s-1").unwrap().boots,
        1,
        "no reboot"
    );
}

#[tokio::test]
async fn the_tailnet_addresses_are_node_addresses_in_the_certificate() {
    let sim = sim_with_tailscale().await;
    join_tailnet(&sim).await;
    let addresses = sim.tailnet_addresses("k8s-1").unwrap();
    for host in [addresses.ipv4.to_string(), addresses.ipv6.to_string()] {
        let version = tailnet_client(&sim, &host).endpoint_node().version().await;
        assert!(version.is_ok(), "{host}: {version:?}");
    }
}
