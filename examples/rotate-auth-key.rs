//! Rotates the Tailscale auth key the nodes' `ExtensionServiceConfig` carries, without a
//! reboot: mints a new key with the old key's properties, then one node at a time replaces
//! `TS_AUTHKEY` in the node's `tailscale` ExtensionServiceConfig (apply mode NO_REBOOT),
//! checks that the boot ID did not change, `ext-tailscale` runs again and the node's
//! device is still the same and online, and only then moves on. Finally the old key is
//! revoked (unless `--keep-old-key`). The keys are never printed. It holds the cluster lock
//! in `--artifacts` (the one `full-rollout` takes) for the whole rotation, so it never runs
//! during a rollout.
//!
//! Needs a target: point it at a cluster, or at a `sim-cluster` after `full-rollout`
//! (`--sim` starts a fresh embedded sim, whose nodes have no tailscale config yet, and says
//! so with exit 2). Exits 1 on failure: nodes already rotated keep the new key, the rest
//! the old one, and the old key stays valid; 2 for invalid input.
//!
//! Nodes that log in with an OAuth client secret or workload identity federation have no
//! key to rotate (containerboot mints a fresh one at every login, nothing on the node
//! expires): the tool says so and changes nothing (exit 2).
//!
//! ```text
//! cargo run -q --example rotate-auth-key -- --talosconfig DIR/talosconfig --tailscale-url URL --tailnet -
//! cargo run -q --example rotate-auth-key -- --help
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use examples::exit::{self, finish, invalid_input};
use examples::lock_args::LockArgs;
use examples::output::{Output, OutputArgs, table};
use examples::parse;
use examples::target::{ClusterArgs, TailnetArgs, Target, TargetArgs, WithoutFlags};
use talos_rollout::profiles::tailscale::{KeyRotation, RotationReport};

/// Rotate the nodes' Tailscale auth key one node at a time, without reboots.
#[derive(Parser)]
#[command(name = "rotate-auth-key", version)]
struct Args {
    /// Name of the ExtensionServiceConfig holding TS_AUTHKEY.
    #[arg(long, default_value = "tailscale")]
    esc_name: String,
    /// Tags of the new key (default: the old key's tags).
    #[arg(long = "tag", value_name = "TAG", value_parser = parse::tag)]
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
    let cluster = target.cluster(&args.cluster)?;
    let _lock = args.lock.lock(target.kind, &cluster.name)?;
    let tailnet = target.tailnet(&args.tailnet)?;
    output.note(format!(
        "rotating the auth key of {} node(s), one at a time, without reboots",
        cluster.nodes.len()
    ));
    let rotation = KeyRotation::new(cluster.talos.clone(), tailnet)
        .esc_name(args.esc_name.clone())
        .tags(args.tags.iter().cloned())
        .expiry(Duration::from_secs(args.expiry_days * 24 * 3600))
        .node_timeout(Duration::from_secs(args.node_timeout))
        .keep_old_key(args.keep_old_key);
    let report = match rotation.rotate(&cluster.nodes).await {
        Ok(report) => report,
        Err(error) if error.is_invalid_input() => return Err(invalid_input(error.to_string())),
        Err(error) => return Err(error.into()),
    };
    output.result(&report, render);
    Ok(exit::SUCCESS)
}

fn render(report: &RotationReport) -> String {
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
