//! Approves the subnet routes each node's tailnet device advertises (the last step of the
//! connectivity phase), merging with the routes already approved — approval never drops a
//! route. The device is found by the node's hostname (newest registration wins; `-1`
//! collisions are reported).
//!
//! Needs a target (`--talosconfig`, `--tailnet`; with `--hostname` the talosconfig is not
//! read) or `--sim` for the embedded simulated cluster and tailnet. Exits 1 when a node has
//! no device or a requested route is not advertised, 2 for invalid input.
//!
//! ```text
//! cargo run -q --example approve-routes -- --sim
//! cargo run -q --example approve-routes -- --sim --hostname k8s-1 --route 10.43.0.0/16 --json
//! TS_API_KEY=tskey-api-... cargo run -q --example approve-routes -- --talosconfig ./talosconfig --tailnet example.com
//! ```
//!
//! It holds the cluster lock in `--artifacts` (the one `full-rollout` takes) while it approves.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use examples::exit::{self, finish};
use examples::lock_args::LockArgs;
use examples::output::{Output, OutputArgs, table};
use examples::parse;
use examples::target::{ClusterArgs, TailnetArgs, Target, TargetArgs, WithoutFlags};
use serde::Serialize;
use tailscale_client::{IpNet, TailscaleClient};

/// Approve the subnet routes the nodes' tailnet devices advertise.
#[derive(Parser)]
#[command(name = "approve-routes", version)]
struct Args {
    /// Device hostname to approve routes for (repeatable; default: every node's Kubernetes name).
    #[arg(long = "hostname", value_name = "NAME")]
    hostnames: Vec<String>,
    /// Route to approve (repeatable; default: every route the device advertises).
    #[arg(long = "route", value_name = "CIDR", value_parser = parse::cidr)]
    routes: Vec<IpNet>,
    /// Only consider devices carrying this tag.
    #[arg(long, value_parser = parse::tag)]
    tag: Option<String>,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    tailnet: TailnetArgs,
    #[command(flatten)]
    lock: LockArgs,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The JSON document: one entry per device.
#[derive(Serialize)]
struct Approvals {
    devices: Vec<DeviceResult>,
}

#[derive(Serialize, Default)]
struct DeviceResult {
    hostname: String,
    device: Option<String>,
    newly_approved: Vec<String>,
    approved: Vec<String>,
    not_advertised: Vec<String>,
    warning: Option<String>,
    error: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    examples::output::init_tracing();
    let args = Args::parse();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<u8> {
    let target = Target::choose(
        &args.target,
        &[&args.cluster, &args.tailnet],
        WithoutFlags::Refuse,
    )
    .await?;
    let output = Output::new(&args.output).on(target.kind);
    let tailnet = target.tailnet(&args.tailnet)?;
    let cluster = target.cluster(&args.cluster)?;
    let _lock = args.lock.lock(target.kind, &cluster.name)?;
    let hostnames = if args.hostnames.is_empty() {
        let cluster = target.cluster(&args.cluster)?;
        let mut names = Vec::new();
        for node in &cluster.nodes {
            let name = cluster.talos.node(node).nodename().await?;
            names.push(name.with_context(|| {
                format!("node {node} has no Kubernetes node name yet; wait until it has booted")
            })?);
        }
        names
    } else {
        args.hostnames.clone()
    };
    let mut results = Vec::new();
    for hostname in hostnames {
        let mut result = DeviceResult {
            hostname: hostname.clone(),
            ..DeviceResult::default()
        };
        if let Err(error) = approve(&tailnet, args.tag.as_deref(), &args.routes, &mut result).await
        {
            result.error = Some(format!("{error:#}"));
        }
        results.push(result);
    }
    let approvals = Approvals { devices: results };
    output.result(&approvals, |approvals| render(&approvals.devices));
    let failed = approvals
        .devices
        .iter()
        .any(|result| result.error.is_some() || !result.not_advertised.is_empty());
    Ok(if failed { exit::FAILURE } else { exit::SUCCESS })
}

async fn approve(
    client: &TailscaleClient,
    tag: Option<&str>,
    requested: &[IpNet],
    result: &mut DeviceResult,
) -> anyhow::Result<()> {
    let found = client
        .node_device(result.hostname.clone())
        .tags(tag.map(str::to_owned))
        .find()
        .await?;
    let Some(found) = found else {
        anyhow::bail!(
            "no tailnet device with hostname {}; is ext-tailscale running on the node?",
            result.hostname
        );
    };
    if let Some(suffix) = found.name_collision_suffix() {
        result.warning = Some(format!(
            "device is named {} (collision suffix -{suffix}); delete stale duplicates and rename it",
            found.device.name
        ));
    }
    let routes = if requested.is_empty() {
        found.device.advertised_routes.clone()
    } else {
        requested.to_vec()
    };
    result.device = Some(found.device.name.clone());
    if routes.is_empty() {
        return Ok(());
    }
    let approval = client
        .routes()
        .approve(found.device.device_id(), &routes)
        .await?;
    result.newly_approved = approval
        .newly_enabled
        .iter()
        .map(ToString::to_string)
        .collect();
    result.approved = approval
        .routes
        .enabled_routes
        .iter()
        .map(ToString::to_string)
        .collect();
    result.not_advertised = approval
        .not_advertised
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(())
}

fn render(results: &[DeviceResult]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|result| {
            let note = result
                .error
                .clone()
                .or_else(|| {
                    (!result.not_advertised.is_empty()).then(|| {
                        format!(
                            "not advertised (pre-approved): {}",
                            result.not_advertised.join(", ")
                        )
                    })
                })
                .or_else(|| result.warning.clone())
                .unwrap_or_default();
            vec![
                result.hostname.clone(),
                result.device.clone().unwrap_or_else(|| "-".into()),
                join_or_dash(&result.newly_approved),
                join_or_dash(&result.approved),
                note,
            ]
        })
        .collect();
    table(
        &["HOSTNAME", "DEVICE", "NEWLY APPROVED", "APPROVED", "NOTE"],
        &rows,
    )
}

fn join_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}
