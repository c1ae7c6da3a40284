//! Rotates the Tailscale auth key the nodes' `ExtensionServiceConfig` carries, without a
//! reboot: mints a new key with the old key's properties, then one node at a time replaces
//! `TS_AUTHKEY` in the node's `tailscale` ExtensionServiceConfig (apply mode NO_REBOOT),
//! checks that the boot ID did not change, `ext-tailscale` runs again and the node's
//! device is still the same and online, and only then moves on. Finally the old key is
//! revoked (unless `--keep-old-key`). The keys are never printed.
//!
//! Without target flags it targets a fresh embedded sim, whose nodes have no tailscale
//! config yet, and says so (exit 2); point it at a cluster, or at a `sim-cluster` after
//! `full-rollout`, to rotate. Exits 1 on failure: nodes already rotated keep the new key,
//! the rest the old one, and the old key stays valid.
//!
//! ```text
//! cargo run -q --example rotate-auth-key -- --talosconfig DIR/talosconfig --factory-url URL --tailscale-url URL
//! cargo run -q --example rotate-auth-key -- --help
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use examples::exit::{self, finish, invalid_input};
use examples::output::{Output, OutputArgs, table};
use examples::target::{Target, TargetArgs};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tailscale_client::{AuthKey, Deleted, TailscaleClient};
use talos_client::NodeClient;
use talos_client::machine::ApplyMode;
use talos_client::machine_config::{ConfigDocuments, ExtensionServiceConfig};

/// Rotate the nodes' Tailscale auth key one node at a time, without reboots.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Name of the ExtensionServiceConfig holding TS_AUTHKEY.
    #[arg(long, default_value = "tailscale")]
    esc_name: String,
    /// Tags of the new key (default: the old key's tags).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Lifetime of the new key in days (at most 90).
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u64).range(1..=90))]
    expiry_days: u64,
    /// Seconds to wait per node for ext-tailscale to run and the device to be online.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    node_timeout: u64,
    /// Keep the old key valid after every node moved to the new one.
    #[arg(long)]
    keep_old_key: bool,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Serialize)]
struct NodeRotation {
    node: String,
    device: String,
    rotated: bool,
    seconds: f64,
}

#[derive(Serialize)]
struct Report {
    new_key_id: String,
    old_key_id: Option<String>,
    old_key_revoked: bool,
    nodes: Vec<NodeRotation>,
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
    let mut configs = Vec::new();
    for node in &target.nodes {
        let esc = examples::nodes::extension_service_config(&target.talos.node(node), &args.esc_name)
            .await?
            .ok_or_else(|| {
                invalid_input(format!(
                    "node {node} has no {} ExtensionServiceConfig; roll the extension out first (full-rollout)",
                    args.esc_name
                ))
            })?;
        configs.push((node.clone(), esc));
    }
    let old_key_id = configs
        .iter()
        .find_map(|(_, esc)| esc.env_value("TS_AUTHKEY").and_then(key_id))
        .map(str::to_owned);
    let old_key = match &old_key_id {
        Some(id) => Some(
            target
                .tailnet
                .keys()
                .get(id)
                .await
                .context("reading the old auth key")?,
        ),
        None => None,
    };
    let (new_key_id, new_secret) = mint_key(&target.tailnet, &args, old_key.as_ref()).await?;
    output.note(format!("minted auth key {new_key_id}"));
    let mut nodes = Vec::new();
    for (node, esc) in configs {
        output.note(format!("{node}: replacing TS_AUTHKEY (no reboot)"));
        let started = Instant::now();
        let device = rotate_node(&target, &target.talos.node(&node), esc, &new_secret, &args)
            .await
            .with_context(|| format!("node {node}: rotation failed; the old key stays valid, nodes before it use the new key {new_key_id}"))?;
        nodes.push(NodeRotation {
            node,
            device,
            rotated: true,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let mut old_key_revoked = false;
    if let Some(id) = old_key_id
        .as_ref()
        .filter(|id| !args.keep_old_key && **id != new_key_id)
    {
        let deleted = target.tailnet.keys().delete(id).await?;
        old_key_revoked = matches!(deleted, Deleted::Deleted | Deleted::AlreadyGone);
    }
    let report = Report {
        new_key_id,
        old_key_id,
        old_key_revoked,
        nodes,
    };
    output.result(&report, render);
    Ok(exit::SUCCESS)
}

/// The key ID inside an auth key (`tskey-auth-<id>-<secret>`).
fn key_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("tskey-auth-")?;
    rest.split_once('-')
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty())
}

async fn mint_key(
    client: &TailscaleClient,
    args: &Args,
    old: Option<&AuthKey>,
) -> anyhow::Result<(String, SecretString)> {
    let old_create = old.map(AuthKey::device_create).unwrap_or_default();
    let tags = if args.tags.is_empty() {
        old_create.tags.clone()
    } else {
        args.tags.clone()
    };
    if tags.is_empty() {
        return Err(invalid_input(
            "the old key's tags are unknown; pass --tag TAG for the new key (nodes need tagged keys)",
        ));
    }
    let created = client
        .keys()
        .create()
        .reusable(true)
        .ephemeral(old_create.ephemeral)
        .preauthorized(true)
        .tags(tags)
        .expiry(Duration::from_secs(args.expiry_days * 24 * 3600))
        .description("talos-rollout key rotation")
        .send()
        .await
        .context("minting the new auth key failed; nothing was changed")?;
    Ok((created.key.id, created.secret))
}

/// Replaces the key on one node and waits until its device is back online; returns the device name.
async fn rotate_node(
    target: &Target,
    client: &NodeClient,
    mut esc: ExtensionServiceConfig,
    secret: &SecretString,
    args: &Args,
) -> anyhow::Result<String> {
    let hostname = match esc.env_value("TS_HOSTNAME") {
        Some(hostname) => hostname.to_owned(),
        None => examples::nodes::hostname(client).await?,
    };
    let before = target
        .tailnet
        .node_device(hostname.clone())
        .find()
        .await?
        .with_context(|| {
            format!("no tailnet device with hostname {hostname}; fix the node before rotating")
        })?;
    let boot_id = client.boot_id().await?;
    esc.environment
        .retain(|entry| !entry.starts_with("TS_AUTHKEY="));
    esc.environment
        .push(format!("TS_AUTHKEY={}", secret.expose_secret()));
    let config = client.machine_config().await?;
    let mut documents = ConfigDocuments::parse(config.expose_secret())?;
    documents.upsert_extension_service_config(&esc)?;
    client
        .apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(args.node_timeout);
    let service_id = format!("ext-{}", args.esc_name);
    loop {
        let running = client
            .service_list()
            .await?
            .iter()
            .any(|service| service.id == service_id && service.is_running());
        let device = target.tailnet.node_device(hostname.clone()).find().await?;
        let same_online = device.as_ref().is_some_and(|found| {
            found.device.device_id() == before.device.device_id()
                && found.device.connected_to_control
        });
        if running && same_online {
            break;
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "{service_id} running: {running}, device {} online: {same_online} after {}s; check `talosctl logs {service_id}`",
                before.device.name,
                args.node_timeout
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if client.boot_id().await? != boot_id {
        anyhow::bail!("the node rebooted while its config was applied with NO_REBOOT");
    }
    Ok(before.device.name)
}

fn render(report: &Report) -> String {
    let rows: Vec<Vec<String>> = report
        .nodes
        .iter()
        .map(|node| {
            vec![
                node.node.clone(),
                node.device.clone(),
                format!("{:.1}s", node.seconds),
            ]
        })
        .collect();
    let mut text = table(&["NODE", "DEVICE", "TOOK"], &rows);
    text.push_str(&format!("new key: {}\n", report.new_key_id));
    match (&report.old_key_id, report.old_key_revoked) {
        (Some(id), true) => text.push_str(&format!("old key {id}: revoked\n")),
        (Some(id), false) => text.push_str(&format!("old key {id}: still valid\n")),
        (None, _) => text.push_str("old key: unknown (not a tskey-auth key); revoke it by hand\n"),
    }
    text
}
