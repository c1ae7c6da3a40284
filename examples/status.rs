//! Shows, per node, whether the tailscale rollout holds: the extension is installed, its
//! `ext-tailscale` service runs, the node's tailnet device is online, its subnet routes
//! are advertised and approved, and (when this machine is on the tailnet) its Talos API
//! answers by its MagicDNS name with full TLS verification. Built for cron and alerting:
//! exit 0 when every node is healthy, 1 when one is unhealthy, 3 when one could not be
//! checked. `--watch` repeats the
//! check every `--interval` seconds (one JSON line per round with `--json`).
//! `--serve-metrics ADDR` also serves the last round as Prometheus metrics at
//! `http://ADDR/metrics` (implies `--watch`; the metrics are listed in
//! `talos_rollout::metrics::HealthMetrics`, scrape config and alert rules in the README).
//!
//! An `os:reader` talosconfig is enough: what only `os:admin` could check (the node's
//! `TS_HOSTNAME` and `TS_ROUTES`) is reported as not checked.
//!
//! Needs a target (`--talosconfig`, `--tailnet`) or `--sim` for the embedded simulated
//! cluster. Invalid input exits 2.
//!
//! ```text
//! cargo run -q --example status -- --sim
//! cargo run -q --example status -- --talosconfig ./talosconfig --tailnet example.com --json
//! cargo run -q --example status -- --sim --watch --interval 30
//! cargo run -q --example status -- --talosconfig ./talosconfig-reader --tailnet example.com --serve-metrics 127.0.0.1:9464
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Parser;
use examples::exit::{self, finish};
use examples::metrics_server;
use examples::output::{Output, OutputArgs, table};
use examples::target::{ClusterArgs, TailnetArgs, Target, TargetArgs, WithoutFlags};
use talos_rollout::metrics::HealthMetrics;
use talos_rollout::profiles::tailscale::{
    Health, HealthRound, ProbeOutcome, TailnetAdapter, check_health, probe_connectivity,
};

/// Check extension, service, tailnet device and routes on every node (exit 0 healthy, 1
/// unhealthy, 2 invalid input, 3 unknown).
#[derive(Parser)]
#[command(name = "status", version)]
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
    /// Serve Prometheus metrics of the last round at http://ADDR/metrics (implies --watch).
    #[arg(long, value_name = "ADDR")]
    serve_metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    tailnet: TailnetArgs,
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
    let tailnet = target.tailnet(&args.tailnet)?;
    let probe = target.connectivity_probe(&cluster);
    let adapter = TailnetAdapter::new(tailnet.clone());
    let metrics = Arc::new(HealthMetrics::new());
    if let Some(addr) = args.serve_metrics {
        let metrics = Arc::clone(&metrics);
        metrics_server::serve(addr, move || metrics.encode()).await?;
    }
    let watch = args.watch || args.serve_metrics.is_some();
    loop {
        let mut round =
            check_health(&cluster.talos, &tailnet, &cluster.nodes, &args.extension).await;
        probe_connectivity(&mut round, &probe, &adapter).await;
        metrics.observe(&round, SystemTime::now());
        let status = match round.health {
            Health::Healthy => exit::SUCCESS,
            Health::Unhealthy => exit::FAILURE,
            Health::Unknown => exit::UNKNOWN,
        };
        if watch {
            let round = WatchedRound {
                checked_at: now_rfc3339(),
                round,
            };
            output.item(&round, |round| {
                format!("checked at {}\n{}", round.checked_at, render(&round.round))
            });
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

/// One `--watch` round with the time it was checked.
#[derive(serde::Serialize)]
struct WatchedRound {
    /// RFC 3339, UTC.
    checked_at: String,
    #[serde(flatten)]
    round: HealthRound,
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
                node.problems
                    .iter()
                    .cloned()
                    .chain(
                        node.not_checked
                            .iter()
                            .map(|what| format!("not checked: {what}")),
                    )
                    .collect::<Vec<_>>()
                    .join("; "),
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
