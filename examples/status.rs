//! Shows, per node, whether the tailscale rollout holds: the extension is installed, its
//! `ext-tailscale` service runs, the node's tailnet device is online, its subnet routes
//! are advertised and approved, and (when this machine is on the tailnet) its Talos API
//! answers by its MagicDNS name with full TLS verification. Built for cron and alerting:
//! exit 0 when every node is healthy, 1 when one is unhealthy, 3 when one could not be
//! checked. `--watch` repeats the
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

use clap::Parser;
use examples::exit::{self, finish};
use examples::output::{Output, OutputArgs, table};
use examples::target::{Target, TargetArgs};
use talos_rollout::profiles::tailscale::{
    Health, HealthRound, ProbeOutcome, TailnetAdapter, check_health, probe_connectivity,
};

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

#[tokio::main]
async fn main() -> ExitCode {
    examples::output::init_tracing();
    let args = Args::parse();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<u8> {
    let output = Output::new(&args.output);
    let target = Target::connect(&args.target).await?;
    let probe = target.connectivity_probe();
    let tailnet = TailnetAdapter::new(target.tailnet.clone());
    loop {
        let mut round = check_health(
            &target.talos,
            &target.tailnet,
            &target.nodes,
            &args.extension,
        )
        .await;
        probe_connectivity(&mut round, &probe, &tailnet).await;
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

/// Whether the node's Talos API answered by its MagicDNS name.
fn tailnet_api(node: &talos_rollout::profiles::tailscale::NodeHealth) -> String {
    match node.connectivity.first().map(|report| &report.outcome) {
        None => "-".to_owned(),
        Some(ProbeOutcome::Reached { .. }) => "reached".to_owned(),
        Some(ProbeOutcome::NotProven { .. }) => "not proven".to_owned(),
        Some(ProbeOutcome::Failed { .. }) => "FAILED".to_owned(),
    }
}

fn render(round: &HealthRound) -> String {
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
                tailnet_api(node),
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
            "TAILNET API",
            "PROBLEMS",
        ],
        &rows,
    );
    text.push_str(&format!("overall: {:?}\n", round.health).to_lowercase());
    text
}
