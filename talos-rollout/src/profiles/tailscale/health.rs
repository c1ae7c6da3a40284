//! [`NodeHealth`]: whether the Tailscale rollout holds on a node now — the extension is
//! installed, its `ext-<name>` service runs, the node's tailnet device is online, and its
//! subnet routes are advertised and approved. For monitors, cron jobs and alerting.
//!
//! It works with a least-privilege `os:reader` certificate: everything but the
//! `ExtensionServiceConfig` is non-sensitive, and when that cannot be read the device is
//! looked up by the node's name and its routes are taken from the tailnet device;
//! [`NodeHealth::not_checked`] says what that leaves out.

use serde::Serialize;
use tailscale_client::{IpNet, TailscaleClient};
use talos_client::{NodeClient, TalosClient};

use super::connectivity::{ConnectivityProbe, ProbeReport};
use super::port::TailnetPort;

/// A node's (or a round's) health, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Everything holds.
    Healthy,
    /// Could not be checked (node or API unreachable, missing permission).
    Unknown,
    /// Something does not hold; `problems` says what.
    Unhealthy,
}

/// One node's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeHealth {
    /// The node as the Talos API targets it.
    pub node: String,
    /// Its Kubernetes node name.
    pub hostname: Option<String>,
    /// The schematic ID its image was built from (None: not read, or not a factory image).
    pub schematic_id: Option<String>,
    /// Overall.
    pub health: Health,
    /// The extension is installed (None: not read).
    pub extension_installed: Option<bool>,
    /// State of `ext-<name>`.
    pub service_state: Option<String>,
    /// `ext-<name>` is running (None: not read).
    pub service_running: Option<bool>,
    /// The tailnet device's name.
    pub device: Option<String>,
    /// The device is connected (None: not read).
    pub device_online: Option<bool>,
    /// Routes the device advertises.
    pub advertised_routes: Vec<String>,
    /// Advertised routes that are not approved.
    pub unapproved_routes: Vec<String>,
    /// When the device was last seen by the control plane (Unix seconds).
    pub device_last_seen: Option<i64>,
    /// When the device's node key expires (Unix seconds); None when it never does or
    /// was not read.
    pub key_expiry: Option<i64>,
    /// What does not hold, each with what to do.
    pub problems: Vec<String>,
    /// The tailnet connectivity probes (filled by [`probe_connectivity`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connectivity: Vec<ProbeReport>,
    /// What could not be checked with the credentials given, and what would check it.
    pub not_checked: Vec<String>,
}

/// Every node's health, and the worst of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthRound {
    /// The extension checked (`tailscale`).
    pub extension: String,
    /// The worst node health (Healthy when there are no nodes).
    pub health: Health,
    /// Per node, in the order asked.
    pub nodes: Vec<NodeHealth>,
}

/// Checks `nodes` for the extension whose config and service are named `extension`
/// (`tailscale`). Needs a certificate with `os:reader` (or more) and an API credential
/// that may read devices. With `os:admin` it also reads the node's
/// `ExtensionServiceConfig` (sensitive: it holds the auth key) for `TS_HOSTNAME` and checks
/// that every route in `TS_ROUTES` is advertised; without it, those checks are listed in
/// [`NodeHealth::not_checked`] and the device is looked up by the node's name.
///
/// # Usage
/// ```no_run
/// # async fn example(talos: talos_client::TalosClient, tailnet: tailscale_client::TailscaleClient) {
/// use talos_rollout::profiles::tailscale::{Health, check_health};
/// let round = check_health(&talos, &tailnet, &["10.0.0.2".to_owned()], "tailscale").await;
/// if round.health != Health::Healthy {
///     eprintln!("{:?}", round.nodes[0].problems);
/// }
/// # }
/// ```
pub async fn check_health(
    talos: &TalosClient,
    tailnet: &TailscaleClient,
    nodes: &[String],
    extension: &str,
) -> HealthRound {
    let mut checked = Vec::new();
    for node in nodes {
        checked.push(check_node(tailnet, talos.node(node), extension).await);
    }
    let nodes = checked;
    let health = nodes
        .iter()
        .map(|node| node.health)
        .max()
        .unwrap_or(Health::Healthy);
    HealthRound {
        extension: extension.to_owned(),
        health,
        nodes,
    }
}

async fn check_node(tailnet: &TailscaleClient, client: NodeClient, extension: &str) -> NodeHealth {
    let mut health = NodeHealth {
        node: client.node().unwrap_or_default().to_owned(),
        hostname: None,
        schematic_id: None,
        health: Health::Healthy,
        extension_installed: None,
        service_state: None,
        service_running: None,
        device: None,
        device_online: None,
        advertised_routes: Vec::new(),
        unapproved_routes: Vec::new(),
        device_last_seen: None,
        key_expiry: None,
        problems: Vec::new(),
        connectivity: Vec::new(),
        not_checked: Vec::new(),
    };
    if let Err(error) = check_talos(&client, extension, &mut health).await {
        health.problems.push(error);
        health.health = Health::Unknown;
        return health;
    }
    if let Err(error) = check_tailnet(tailnet, &client, extension, &mut health).await {
        health.problems.push(error);
        health.health = health.health.max(Health::Unknown);
    }
    health
}

async fn check_talos(
    client: &NodeClient,
    extension: &str,
    health: &mut NodeHealth,
) -> Result<(), String> {
    health.hostname = Some(
        client
            .nodename()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the node has no Kubernetes node name yet; wait until it has booted")?,
    );
    let extensions = client.extensions().await.map_err(|e| e.to_string())?;
    health.schematic_id = talos_client::resources::schematic_id(&extensions);
    let installed = extensions
        .iter()
        .any(|installed| installed.name() == extension);
    health.extension_installed = Some(installed);
    if !installed {
        health
            .problems
            .push(format!("extension {extension} is not installed"));
        health.health = Health::Unhealthy;
    }
    let service_id = format!("ext-{extension}");
    let service = client
        .service_list()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|service| service.id == service_id);
    health.service_state = service.as_ref().map(|service| service.state.clone());
    let running = service.is_some_and(|service| service.is_running());
    health.service_running = Some(running);
    if !running {
        health
            .problems
            .push(format!("service {service_id} is not running"));
        health.health = Health::Unhealthy;
    }
    Ok(())
}

async fn check_tailnet(
    tailnet: &TailscaleClient,
    client: &NodeClient,
    extension: &str,
    health: &mut NodeHealth,
) -> Result<(), String> {
    let esc = match client.extension_service_config(extension).await {
        Ok(esc) => esc,
        Err(error) if error.is_permission_denied() => {
            health.not_checked.push(format!(
                "TS_HOSTNAME and TS_ROUTES of the {extension} ExtensionServiceConfig (reading it \
                 needs os:admin): the device was looked up by the node name and its routes \
                 were not compared with TS_ROUTES; run with an os:admin talosconfig to check them"
            ));
            None
        }
        Err(error) => return Err(error.to_string()),
    };
    let hostname = esc
        .as_ref()
        .and_then(|esc| esc.env_value("TS_HOSTNAME"))
        .map(str::to_owned)
        .or_else(|| health.hostname.clone())
        .unwrap_or_default();
    let wanted: Vec<IpNet> = esc
        .as_ref()
        .and_then(|esc| esc.env_value("TS_ROUTES"))
        .map(|routes| {
            routes
                .split(',')
                .filter_map(|route| route.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let found = tailnet
        .node_device(hostname.clone())
        .find()
        .await
        .map_err(|e| e.to_string())?;
    let Some(found) = found else {
        health
            .problems
            .push(format!("no tailnet device with hostname {hostname}"));
        health.health = Health::Unhealthy;
        return Ok(());
    };
    let device = found.device;
    health.device = Some(device.name.clone());
    health.device_online = Some(device.connected_to_control);
    health.device_last_seen = device.last_seen.map(|seen| seen.unix_timestamp());
    health.key_expiry = device
        .expires
        .filter(|_| !device.key_expiry_disabled)
        .map(|expires| expires.unix_timestamp());
    if !device.connected_to_control {
        health
            .problems
            .push(format!("device {} is offline", device.name));
        health.health = Health::Unhealthy;
    }
    health.advertised_routes = device
        .advertised_routes
        .iter()
        .map(ToString::to_string)
        .collect();
    let enabled = |route: &IpNet| {
        device
            .enabled_routes
            .iter()
            .any(|r| r.trunc() == route.trunc())
    };
    let advertised = |route: &IpNet| {
        device
            .advertised_routes
            .iter()
            .any(|r| r.trunc() == route.trunc())
    };
    for route in wanted.iter().filter(|route| !advertised(route)) {
        health
            .problems
            .push(format!("route {route} (TS_ROUTES) is not advertised"));
        health.health = Health::Unhealthy;
    }
    health.unapproved_routes = device
        .advertised_routes
        .iter()
        .filter(|route| !enabled(route))
        .map(ToString::to_string)
        .collect();
    if !health.unapproved_routes.is_empty() {
        health.problems.push(format!(
            "routes not approved: {} (run approve-routes)",
            health.unapproved_routes.join(", ")
        ));
        health.health = Health::Unhealthy;
    }
    Ok(())
}

/// Runs `probe` for every node of `round` that has a hostname (the seed's monitoring "ping
/// by MagicDNS name"): the reports land in each node's `connectivity`, and a failed probe
/// makes the node (and the round) unhealthy with the probe's diagnosis as a problem. A
/// probe that could not be tried ("not on the tailnet") changes nothing.
pub async fn probe_connectivity(
    round: &mut HealthRound,
    probe: &ConnectivityProbe,
    tailnet: &dyn TailnetPort,
) {
    for node in &mut round.nodes {
        let Some(hostname) = node.hostname.clone() else {
            continue;
        };
        node.connectivity = probe.probe_node(tailnet, &hostname).await;
        for report in node.connectivity.iter().filter(|report| !report.passed()) {
            node.problems
                .push(format!("{}: {}", report.name, report.detail()));
            node.health = Health::Unhealthy;
        }
    }
    round.health = round
        .nodes
        .iter()
        .map(|node| node.health)
        .max()
        .unwrap_or(Health::Healthy);
}
