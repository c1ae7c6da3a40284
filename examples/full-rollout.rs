//! The whole procedure, end to end: adds the Tailscale system extension (or, with
//! `--extension`, NUT client or iSCSI tools) to every node of a Talos cluster, one node at a
//! time, with verification and rollback. It is rendering only: the procedure is
//! `talos_rollout::ExtensionRollout`.
//!
//! With no arguments it starts an embedded simulated cluster shaped like the seed's
//! (`k8s-1..3`, Talos v1.10.4, extensions i915 + mei, service CIDR 10.43.0.0/16) and runs
//! every phase against it:
//!
//! 1. discover each node's extensions and schematic;
//! 2. build "current + tailscale" and record its schematic ID (registered with the Image
//!    Factory before the first node is touched);
//! 3. mint a reusable, pre-authorized, tagged auth key;
//! 4. write per-node `ExtensionServiceConfig` patches (0600; the key never reaches the screen);
//! 5. then, node by node (control plane first, etcd leader last): back up the machine
//!    config, check cluster health, apply the config, install the new image, reboot, wait,
//!    verify version, schematic, extension and `ext-tailscale`, wait for the tailnet device,
//!    approve its routes, soak;
//! 6. validate every node once more, print a summary table and write `report.json`.
//!
//! Everything lands in `--artifacts DIR` (default `./rollout-artifacts`): journal, lock,
//! config backups, patches, schematics, report. `--plan` prints the dry run and changes
//! nothing; `--json` prints the event stream as JSON lines; `--resume` continues a rollout
//! that was interrupted (the journal says what was done; no node is upgraded twice);
//! `--serve-metrics ADDR` serves the progress as Prometheus metrics (see the README).
//! With `--talosconfig/--context/--nodes`, `--factory-url`, `--tailnet` and `TS_API_KEY`
//! (or `TS_OAUTH_CLIENT_ID`/`TS_OAUTH_CLIENT_SECRET`) the same code runs against a real
//! cluster. Exits 0 when every node converged and verified, 1 otherwise, 2 for bad input.
//!
//! ```text
//! cargo run --example full-rollout
//! cargo run --example full-rollout -- --plan
//! cargo run --example full-rollout -- --sim-control-planes 1 --sim-workers 5 --max-unavailable 2
//! cargo run --example full-rollout -- --extension iscsi-tools
//! cargo run --example full-rollout -- --talosconfig ./talosconfig --tailnet example.com --route 10.43.0.0/16
//! cargo run --example full-rollout -- --talosconfig ./talosconfig --tailnet example.com --resume
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use examples::exit::{self, finish, invalid_input};
use examples::output::{Output, OutputArgs, short_id, table};
use examples::profile_args::ProfileArgs;
use examples::progress::render_events;
use examples::report;
use examples::rollout_args::RolloutArgs;
use examples::target::{Target, TargetArgs, TargetKind};
use serde_json::json;
use talos_rollout::Error;
use talos_rollout::core::ClusterFacts;
use talos_rollout::journal::RolloutDir;
use talos_rollout::metrics::RolloutMetrics;

/// Roll a system extension (Tailscale by default) onto every node, one at a time, with verification.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Print the plan (the dry run) and change nothing.
    #[arg(long, conflicts_with = "resume")]
    plan: bool,
    /// Continue the unfinished rollout journaled in --artifacts.
    #[arg(long)]
    resume: bool,
    /// Serve rollout progress as Prometheus metrics at http://ADDR/metrics while it runs.
    #[arg(long, value_name = "ADDR")]
    serve_metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    profile: ProfileArgs,
    #[command(flatten)]
    rollout: RolloutArgs,
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
    let embedded = target.kind == TargetKind::EmbeddedSim;
    if embedded {
        output.note(format!(
            "started the embedded simulated cluster ({} nodes); pass --talosconfig to use a real one",
            target.nodes.len()
        ));
    }
    let profile = args.profile.profile(&target)?;
    let dir = RolloutDir::new(&args.rollout.artifacts, &target.cluster);
    let (rollout, events) = args
        .rollout
        .rollout(&target, profile.clone())
        .take_over_stale_lock(args.resume || embedded)
        .build()
        .map_err(as_input_error)?;
    if args.plan {
        let renderer = tokio::spawn(render_events(events, output));
        let plan = rollout.plan().await.map_err(as_input_error)?;
        drop(rollout);
        let log = renderer.await.context("the progress renderer stopped")?;
        if !output.is_json() {
            show_discovery(log.facts.as_ref(), output);
        }
        output.item(&json!({"event": "dry_run", "plan": plan}), |_| {
            format!("{plan}dry run: nothing was changed\n")
        });
        return Ok(exit::SUCCESS);
    }
    if embedded && !args.resume && rollout.unfinished()?.is_some() {
        let moved = dir.archive_journal(unix_ms())?;
        output.note(format!(
            "moved the journal of an earlier embedded sim aside: {}",
            moved.display()
        ));
    }
    let cancel = rollout.cancellation();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    });
    let ports = rollout.ports().clone();
    let store = rollout.store();
    let events = match args.serve_metrics {
        Some(addr) => {
            let metrics = Arc::new(RolloutMetrics::new());
            let served = Arc::clone(&metrics);
            examples::metrics_server::serve(addr, move || served.encode()).await?;
            metrics.observing(events)
        }
        None => events,
    };
    let renderer = tokio::spawn(render_events(events, output));
    let result = if args.resume {
        output.note("resuming the journaled rollout");
        rollout.resume().await
    } else {
        rollout.run().await
    };
    drop(rollout);
    let log = renderer.await.context("the progress renderer stopped")?;
    let summary = match result {
        Ok(summary) => summary,
        Err(Error::Cancelled) => anyhow::bail!(
            "interrupted between two steps; the journal is consistent, run again with --resume"
        ),
        Err(error) => return Err(as_input_error(error)),
    };
    let plan = log.plan.clone().context("the driver reported no plan")?;
    output.note("final validation of every node");
    let report = talos_rollout::report::build(
        &plan,
        &summary,
        &log,
        &ports,
        profile.as_ref(),
        store.credential_id(),
    )
    .await;
    let path = store.write_public(
        "report.json",
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    output.item(
        &json!({"event": "report", "path": path, "report": report}),
        |_| format!("\n{}report: {}\n", report::render(&report), path.display()),
    );
    Ok(if report.succeeded {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}

/// Invalid input from the library becomes the tools' invalid-input error (exit 2).
fn as_input_error(error: Error) -> anyhow::Error {
    if let Error::UnfinishedRollout { path, .. } = &error {
        return invalid_input(format!(
            "an unfinished rollout is journaled in {}; pass --resume to continue it, or roll it back with the rollback example",
            path.display()
        ));
    }
    if error.is_invalid_input() {
        invalid_input(error.to_string())
    } else {
        error.into()
    }
}

fn show_discovery(facts: Option<&ClusterFacts>, output: Output) {
    let Some(facts) = facts else { return };
    let rows: Vec<Vec<String>> = facts
        .nodes
        .iter()
        .map(|node| {
            vec![
                node.node.clone(),
                node.nodename.clone(),
                format!("{:?}", node.role).to_lowercase(),
                node.version.clone(),
                node.schematic_id
                    .as_deref()
                    .map_or("-", short_id)
                    .to_owned(),
                node.extensions.join(", "),
            ]
        })
        .collect();
    output.item(&json!({"event": "discovered", "facts": facts}), |_| {
        table(
            &[
                "NODE",
                "HOSTNAME",
                "ROLE",
                "VERSION",
                "SCHEMATIC",
                "EXTENSIONS",
            ],
            &rows,
        )
    });
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
