//! Shows, per node, whether the tailscale rollout holds: the extension is installed, its
//! `ext-tailscale` service runs, the node's tailnet device is online, and its subnet routes
//! are advertised and approved. Built for cron and alerting: exit 0 when every node is
//! healthy, 1 when one is unhealthy, 3 when one could not be checked. `--watch` repeats the
//! check every `--interval` seconds (one JSON line per round with `--json`).
//!
//! Without target flags it checks the embedded simulated cluster.
//!
//! ```text
//! cargo run -q --example status
//! cargo run -q --example status -- --talosconfig ./talosconfig --tailnet example.com --json
//! cargo run -q --example status -- --watch --interval 30
//! ```

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use examples::exit::{self, finish};
use examples::output::{Output, OutputArgs, table};
use examples::target::{Target, TargetArgs};
use serde::Serialize;
use tailscale_client::IpNet;
use talos_client::NodeClient;

/// Check extension, service, tailnet device and routes on every node.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Extension (and ExtensionServiceConfig) name to check.
    #[arg(long, default_value = "tailscale")]
    extension: String,
    /// Repeat the check until interrupted.
    #[arg(long)]
    watch: bool,
    /// Seconds between two checks with --watch.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    interval: u64,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
enum Health {
    Healthy,
    Unknown,
    Unhealthy,
}

#[derive(Serialize)]
struct NodeHealth {
    node: String,
    hostname: Option<String>,
    health: Health,
    extension_installed: Option<bool>,
    service_state: Option<String>,
    device: Option<String>,
    device_online: Option<bool>,
    advertised_routes: Vec<String>,
    unapproved_routes: Vec<String>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct Round {
    health: Health,
    nodes: Vec<NodeHealth>,
}

#[tokio::main]
async fn main() -> ExitCode {
    examples::output::init_tracing();
    let args = Args::parse();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<u8> {
    let output = Output::new(&args.output);
    let target = Target::connect(&args.target).await?;
    loop {
        let round = check_all(&target, &args.extension).await;
        let status = match round.health {
            Health::Healthy => exit::SUCCESS,
            Health::Unhealthy => exit::FAILURE,
            Health::Unknown => exit::UNKNOWN,
        };
        if args.watch {
            output.item(&round, render);
        } else {
            output.result(&round, render);
            return Ok(status);
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(args.interval)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(status),
        }
    }
}

async fn check_all(target: &Target, extension: &str) -> Round {
    let mut nodes = Vec::new();
    for node in &target.nodes {
        nodes.push(check_node(target, target.talos.node(node), extension).await);
    }
    let health = nodes
        .iter()
        .map(|node| node.health)
        .max()
        .unwrap_or(Health::Healthy);
    Round { health, nodes }
}

async fn check_node(target: &Target, client: NodeClient, extension: &str) -> NodeHealth {
    let mut health = NodeHealth {
        node: client.node().unwrap_or_default().to_owned(),
        hostname: None,
        health: Health::Healthy,
        extension_installed: None,
        service_state: None,
        device: None,
        device_online: None,
        advertised_routes: Vec::new(),
        unapproved_routes: Vec::new(),
        problems: Vec::new(),
    };
    if let Err(error) = check_talos(&client, extension, &mut health).await {
        health.problems.push(format!("{error:#}"));
        health.health = Health::Unknown;
        return health;
    }
    if let Err(error) = check_tailnet(target, &client, extension, &mut health).await {
        health.problems.push(format!("{error:#}"));
        health.health = health.health.max(Health::Unknown);
    }
    health
}

async fn check_talos(
    client: &NodeClient,
    extension: &str,
    health: &mut NodeHealth,
) -> anyhow::Result<()> {
    health.hostname = Some(
        client
            .nodename()
            .await?
            .context("the node has no Kubernetes node name yet; wait until it has booted")?,
    );
    let installed = client
        .extensions()
        .await?
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
        .await?
        .into_iter()
        .find(|service| service.id == service_id);
    health.service_state = service.as_ref().map(|service| service.state.clone());
    if !service.is_some_and(|service| service.is_running()) {
        health
            .problems
            .push(format!("service {service_id} is not running"));
        health.health = Health::Unhealthy;
    }
    Ok(())
}

async fn check_tailnet(
    target: &Target,
    client: &NodeClient,
    extension: &str,
    health: &mut NodeHealth,
) -> anyhow::Result<()> {
    let esc = client.extension_service_config(extension).await?;
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
    let Some(found) = target.tailnet.node_device(hostname.clone()).find().await? else {
        health
            .problems
            .push(format!("no tailnet device with hostname {hostname}"));
        health.health = Health::Unhealthy;
        return Ok(());
    };
    let device = found.device;
    health.device = Some(device.name.clone());
    health.device_online = Some(device.connected_to_control);
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

fn render(round: &Round) -> String {
    let rows: Vec<Vec<String>> = round
        .nodes
        .iter()
        .map(|node| {
            let flag = |value: Option<bool>| match value {
                Some(true) => "yes".to_owned(),
                Some(false) => "NO".to_owned(),
                None => "?".to_owned(),
            };
            vec![
                node.node.clone(),
                node.hostname.clone().unwrap_or_else(|| "-".into()),
                format!("{:?}", node.health).to_lowercase(),
                flag(node.extension_installed),
                node.service_state.clone().unwrap_or_else(|| "-".into()),
                flag(node.device_online),
                if node.advertised_routes.is_empty() {
                    "-".into()
                } else {
                    node.advertised_routes.join(",")
                },
                node.problems.join("; "),
            ]
        })
        .collect();
    let mut text = table(
        &[
            "NODE",
            "HOSTNAME",
            "HEALTH",
            "EXTENSION",
            "SERVICE",
            "ONLINE",
            "ROUTES",
            "PROBLEMS",
        ],
        &rows,
    );
    text.push_str(&format!("overall: {:?}\n", round.health).to_lowercase());
    text
}
