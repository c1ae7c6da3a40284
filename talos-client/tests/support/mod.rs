//! Plumbing for the integration tests, which all run against `sim::Sim`, the workspace's
//! one model of a Talos node: a one-node cluster with fast reboots, clients with chosen
//! roles, the calls apid received, waiting, and a loopback port nothing listens on. No node
//! behaviour lives here; faults are the sim's own switches (`sim::Faults`).
//!
//! The sim follows tokio time, so tests never pause it while calls are in flight; they use
//! short timings and wait with [`eventually`].

#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use sim::talos::{NodeSnapshot, ReceivedCall, Timings};
use sim::{Sim, SimBuilder};
use talos_client::TalosClient;
use talos_client::identity::ClientIdentity;
use talos_client::machine::ApplyMode;
use talos_client::machine_config::ConfigDocuments;

/// The only node's address (`k8s-1`, a control-plane node).
pub const NODE: &str = "10.5.0.2";
/// A version with the image and lifecycle services but without the `BootIDs` resource.
pub const LIFECYCLE_VERSION: &str = "v1.13.0";
/// The version the upgrade tests install.
pub const NEXT_VERSION: &str = "v1.13.9";
/// A version with the `BootIDs` resource (Talos 1.14+).
pub const BOOT_ID_VERSION: &str = "v1.14.0-rc.1";
/// A version before the lifecycle API: only the legacy `Upgrade`.
pub const LEGACY_VERSION: &str = "v1.12.6";

/// Reboots in about a tenth of a second.
pub const FAST: Timings = Timings {
    shutdown: Duration::from_millis(20),
    reboot: Duration::from_millis(100),
    boot: Duration::from_millis(20),
    install: Duration::ZERO,
    service_restart: Duration::from_millis(100),
};

/// One control-plane node running [`LIFECYCLE_VERSION`] with `siderolabs/tailscale`.
pub fn one_node() -> SimBuilder {
    Sim::builder()
        .control_planes(1)
        .talos_version(LIFECYCLE_VERSION)
        .extensions(["siderolabs/tailscale"])
        .timings(FAST)
}

/// [`one_node`] whose shutdown takes 0.3 s: events of a starting reboot reach open streams
/// well before the boot ends, however loaded the machine is.
pub fn one_node_slow_shutdown() -> SimBuilder {
    one_node().timings(Timings {
        shutdown: Duration::from_millis(300),
        ..FAST
    })
}

/// Starts `builder`.
pub async fn start(builder: SimBuilder) -> Sim {
    builder.start().await.unwrap()
}

/// A client of every apid endpoint whose certificate carries `roles`.
pub fn client(sim: &Sim, roles: &[&str]) -> TalosClient {
    let config = sim.talosconfig_with_roles(roles).unwrap();
    TalosClient::connect(config.context(None).unwrap()).unwrap()
}

/// A client with `roles` (signed by the sim's CA) using `endpoints` in order.
pub fn client_via(sim: &Sim, endpoints: &[String], roles: &[&str]) -> TalosClient {
    TalosClient::builder()
        .endpoints(endpoints.iter().cloned())
        .identity(identity(sim.pki(), roles))
        .build()
        .unwrap()
}

/// An identity signed by `pki` carrying `roles`.
pub fn identity(pki: &sim::pki::Pki, roles: &[&str]) -> ClientIdentity {
    pki.client_identity(roles).unwrap()
}

/// The only node's current state.
pub fn snapshot(sim: &Sim) -> NodeSnapshot {
    sim.cluster().snapshot(NODE).unwrap()
}

/// Every call apid received, oldest first.
pub fn calls(sim: &Sim) -> Vec<ReceivedCall> {
    sim.cluster().received_calls()
}

/// The methods apid received, in order.
pub fn received_methods(sim: &Sim) -> Vec<String> {
    calls(sim).into_iter().map(|call| call.method).collect()
}

/// The COSI calls apid received, as (method, resource type), in order.
pub fn resource_reads(sim: &Sim) -> Vec<(String, String)> {
    calls(sim)
        .into_iter()
        .filter_map(|call| Some((call.method, call.resource_type?)))
        .collect()
}

/// The calls apid endpoint `index` received.
pub fn calls_at(sim: &Sim, index: usize) -> Vec<ReceivedCall> {
    calls(sim)
        .into_iter()
        .filter(|call| call.endpoint == index)
        .collect()
}

/// Gives the only node an `ExtensionServiceConfig` named `tailscale` with `environment`
/// (applied without a reboot, through the client), so `ext-tailscale` starts.
pub async fn configure_tailscale(sim: &Sim, environment: &[&str]) {
    let mut documents = ConfigDocuments::parse(&snapshot(sim).config).unwrap();
    let environment: String = environment
        .iter()
        .map(|entry| format!("  - {entry}\n"))
        .collect();
    documents
        .upsert_document(&format!(
            "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: tailscale\nenvironment:\n{environment}"
        ))
        .unwrap();
    client(sim, &["os:admin"])
        .node(NODE)
        .apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
        .await
        .unwrap();
}

/// Polls `check` until it holds; panics after a generous limit (liveness only).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A loopback address nothing listens on (a port that was just free).
pub fn dead_endpoint() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Collects a stream of results into a vector, failing on the first error.
pub async fn collect<T>(
    stream: futures::stream::BoxStream<'static, Result<T, talos_client::Error>>,
) -> Vec<T> {
    use futures::TryStreamExt;
    stream.try_collect().await.unwrap()
}
