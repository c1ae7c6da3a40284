//! Shows, per node, whether the tailscale rollout holds: the extension is installed, its
//! `ext-tailscale` service runs, the node's tailnet device is online, and its subnet routes
//! are advertised and approved. Built for cron and alerting: exit 0 when every node is
//! healthy, 1 when one is unhealthy, 3 when one could not be checked. `--watch` repeats the
//! check every `--interval` seconds (one JSON line per round with `--json`).
//! `--serve-metrics ADDR` also serves the last round as Prometheus metrics at
//! `http://ADDR/metrics` (implies `--watch`; the metrics are listed in
//! `talos_rollout::metrics::HealthMetrics`, scrape config and alert rules in the README).
//!
//! An `os:reader` talosconfig is enough: what only `os:admin` could check (the node's
//! `TS_HOSTNAME` and `TS_ROUTES`) is reported as not checked.
//!
//! Without target flags it checks the embedded simulated cluster.
//!
//! ```text
//! cargo run -q --example status
//! cargo run -q --example status -- --talosconfig ./talosconfig --tailnet example.com --json
//! cargo run -q --example status -- --watch --interval 30
//! cargo run -q --example status -- --talosconfig ./talosconfig-reader --serve-metrics 127.0.0.1:9464
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Parser;
use examples::exit::{self, finish};
use examples::metrics_server;
use examples::output::{Output, OutputArgs, table};
use examples::target::{Target, TargetArgs};
use talos_rollout::metrics::HealthMetrics;
use talos_rollout::profiles::tailscale::{Health, HealthRound, check_health};

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
    /// Serve Prometheus metrics of the last round at http://ADDR/metrics (implies --watch).
    #[arg(long, value_name = "ADDR")]
    serve_metrics: Option<std::net::SocketAddr>,
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
    let metrics = Arc::new(HealthMetrics::new());
    if let Some(addr) = args.serve_metrics {
        let metrics = Arc::clone(&metrics);
        metrics_server::serve(addr, move || metrics.encode()).await?;
    }
    let watch = args.watch || args.serve_metrics.is_some();
    loop {
        let round = check_health(
            &target.talos,
            &target.tailnet,
            &target.nodes,
            &args.extension,
        )
        .await;
        metrics.observe(&round, SystemTime::now());
        let status = match round.health {
            Health::Healthy => exit::SUCCESS,
            Health::Unhealthy => exit::FAILURE,
            Health::Unknown => exit::UNKNOWN,
        };
        if watch {
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
            "PROBLEMS",
        ],
        &rows,
    );
    text.push_str(&format!("overall: {:?}\n", round.health).to_lowercase());
    text
}
