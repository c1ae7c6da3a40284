//! Rolls nodes back to the machine config and image they had before the last rollout:
//! restores the backed-up config (exact bytes), boots the previous image (the Talos
//! rollback, or a reinstall of the original installer), waits for the reboot and checks that
//! the original version and schematic run again. One node (`--node`, repeatable) or every
//! node the rollout changed (last changed first), one at a time; it stops at the first node
//! that does not come back as it was.
//!
//! It reads the journal and backups `full-rollout` left in `--artifacts`, so point it at the
//! same cluster: a real one, or a `sim-cluster` (a fresh embedded sim has no rollout to
//! undo). Each rolled-back node is then compared with what it ran before the project first
//! touched it (`originals/`); one that is not back there is a failure. It takes the cluster
//! lock (`--take-over-stale-lock` for one left by a process that is gone). Exits 0 when
//! every requested node is rolled back, 1 otherwise, 2 for bad input.
//!
//! ```text
//! cargo run -q --example rollback -- --talosconfig ./talosconfig --tailnet example.com
//! cargo run -q --example rollback -- --talosconfig ./talosconfig --tailnet example.com --node 10.0.0.3 --json
//! ```

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use examples::exit::{self, finish, invalid_input};
use examples::output::{Output, OutputArgs};
use examples::profile_args::ExtensionArgs;
use examples::progress::render_events;
use examples::report;
use examples::rollout_args::StepArgs;
use examples::target::{
    ClusterArgs, FactoryArgs, TailnetArgs, Target, TargetArgs, TargetKind, WithoutFlags,
};
use serde_json::json;
use talos_rollout::core::machine::Phase;
use talos_rollout::journal::{Journal, RolloutDir};

/// Roll nodes back to their backed-up config and previous image.
#[derive(Parser)]
#[command(name = "rollback", version)]
struct Args {
    /// Node to roll back (repeatable; default: every node the rollout changed).
    #[arg(long = "node", value_name = "NODE")]
    roll_back: Vec<String>,
    #[command(flatten)]
    extension: ExtensionArgs,
    #[command(flatten)]
    steps: StepArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    factory: FactoryArgs,
    #[command(flatten)]
    tailnet: TailnetArgs,
    /// Take over a cluster lock whose holder process is gone (never one that is alive).
    #[arg(long)]
    take_over_stale_lock: bool,
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
        &[&args.cluster, &args.factory, &args.tailnet],
        WithoutFlags::Refuse,
    )
    .await?;
    let output = Output::new(&args.output).on(target.kind);
    let cluster = target.cluster(&args.cluster)?;
    let journal = RolloutDir::new(&args.steps.artifacts, &cluster.name).journal();
    if !journal.exists() {
        return Err(invalid_input(format!(
            "no rollout journal at {}; pass the --artifacts directory full-rollout used for this cluster",
            journal.display()
        )));
    }
    let plan = Journal::read(&journal)?.plan;
    for node in &args.roll_back {
        if plan.node(node).is_none() {
            return Err(invalid_input(format!(
                "node {node} is not part of the journaled rollout"
            )));
        }
    }
    let profile = args
        .extension
        .profile(&target, &cluster, &args.tailnet, None)?;
    let (rollout, events) = args
        .steps
        .builder(
            target.kind,
            &cluster,
            target.factory(&args.factory)?,
            profile.clone(),
            None,
        )?
        .take_over_stale_lock(args.take_over_stale_lock || target.kind == TargetKind::EmbeddedSim)
        .build()?;
    let ports = rollout.ports().clone();
    let store = rollout.store();
    let renderer = tokio::spawn(render_events(events, output));
    let result = rollout.roll_back(&args.roll_back).await;
    drop(rollout);
    let log = renderer.await.context("the progress renderer stopped")?;
    let summary = result?;
    let report =
        talos_rollout::report::build(&plan, &summary, &log, &ports, profile.as_ref(), None).await;
    let path = store.write_public(
        "rollback-report.json",
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let failed_now = log
        .nodes
        .values()
        .any(|timeline| timeline.failure.is_some());
    let not_rolled_back = summary.nodes.iter().any(|(node, phase)| {
        let requested = if args.roll_back.is_empty() {
            // Every changed node: those that still run the rollout's result.
            *phase == Phase::Done && plan.node(node).is_some_and(|plan| !plan.is_skipped())
        } else {
            args.roll_back.iter().any(|wanted| wanted == node)
        };
        requested && *phase != Phase::RolledBack
    });
    let failed = failed_now || not_rolled_back;
    output.item(
        &json!({"event": "report", "path": path, "report": report, "rolled_back": !failed}),
        |_| {
            let table = report::render_rollback(&report, !failed);
            format!("\n{table}report: {}\n", path.display())
        },
    );
    Ok(if failed { exit::FAILURE } else { exit::SUCCESS })
}
