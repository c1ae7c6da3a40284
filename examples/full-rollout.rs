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
//!    approve its routes, add its MagicDNS name and tailnet addresses to its certSANs
//!    (`--no-tailnet-cert-sans` opts out), prove its Talos API reachable by that name with
//!    full TLS verification when this machine is on the tailnet, soak;
//! 6. validate every node once more, print a summary table and write `report.json`;
//! 7. write the emergency `talosconfig.tailnet` and `kubeconfig.tailnet` (0600, MagicDNS
//!    endpoints) for when the LAN path is down.
//!
//! Everything lands in `--artifacts DIR` (default `./rollout-artifacts`): journal, lock,
//! config backups, patches, schematics, report. `--plan` prints the dry run and changes
//! nothing; `--json` prints the event stream as JSON lines; `--resume` continues a rollout
//! that was interrupted (the journal says what was done; no node is upgraded twice);
//! `--abandon` ends an unfinished or halted rollout instead (revokes the key it minted). A
//! re-run on a converged cluster prints "nothing to do", mints no key and writes nothing;
//! the first run that changes a node records what it ran originally under `originals/`.
//! `--gitops DIR` then brings a talhelper repository in step (per-node patch files with
//! `${TS_AUTHKEY}` references, `talosImageURL` or `schematic:`, `talosVersion`) and checks it
//! against the cluster; with the embedded sim an empty DIR first gets the sim's sample
//! repository. Every run also leaves `recovery/` (schematic ID, installers, RUNBOOK.md).
//! `--serve-metrics ADDR` serves the progress as Prometheus metrics (see the README).
//! With `--talosconfig/--context/--nodes`, `--factory-url`, `--tailnet` and `TS_API_KEY`
//! (or `TS_OAUTH_CLIENT_ID`/`TS_OAUTH_CLIENT_SECRET`) the same code runs against a real
//! cluster. Exits 0 when every node converged and verified (and, with `--gitops`, the
//! repository is in step), 1 otherwise, 2 for bad input (an unusable repository included).
//!
//! ```text
//! cargo run --example full-rollout
//! cargo run --example full-rollout -- --plan
//! cargo run --example full-rollout -- --sim-control-planes 1 --sim-workers 5 --max-unavailable 2
//! cargo run --example full-rollout -- --extension iscsi-tools
//! cargo run --example full-rollout -- --gitops ./home-ops
//! cargo run --example full-rollout -- --talosconfig ./talosconfig --tailnet example.com --route 10.43.0.0/16
//! cargo run --example full-rollout -- --talosconfig ./talosconfig --tailnet example.com --resume
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use examples::exit::{self, finish, invalid_input};
use examples::gitops::{GitopsArgs, render_drift, render_sync};
use examples::output::{Output, OutputArgs, short_id, table};
use examples::profile_args::{Extension, ProfileArgs};
use examples::progress::render_events;
use examples::report;
use examples::rollout_args::{RolloutArgs, StepArgs};
use examples::target::{
    Cluster, ClusterArgs, FactoryArgs, TailnetArgs, Target, TargetArgs, TargetKind, WithoutFlags,
};
use serde_json::json;
use tailscale_client::TailscaleClient;
use talos_rollout::core::plan::Plan;
use talos_rollout::core::{ClusterFacts, NodeRole};
use talos_rollout::gitops::{self, Repository};
use talos_rollout::journal::RolloutDir;
use talos_rollout::metrics::RolloutMetrics;
use talos_rollout::profiles::tailscale::{EmergencyNode, TailnetAdapter, write_emergency_configs};
use talos_rollout::{Error, ExtensionRollout};

/// Roll a system extension (Tailscale by default) onto every node, one at a time, with verification.
#[derive(Parser)]
#[command(name = "full-rollout", version)]
struct Args {
    /// Print the plan (the dry run) and change nothing.
    #[arg(long, conflicts_with = "resume")]
    plan: bool,
    /// Continue the unfinished rollout journaled in --artifacts.
    #[arg(long, conflicts_with = "abandon")]
    resume: bool,
    /// End the unfinished or halted rollout journaled in --artifacts without resuming it:
    /// revoke the auth key it minted and move its files to history/ (nodes stay as they are;
    /// use the rollback example first to return them to their originals).
    #[arg(long, conflicts_with = "plan")]
    abandon: bool,
    /// Take over a cluster lock whose holder process is gone (never one that is alive).
    #[arg(long)]
    take_over_stale_lock: bool,
    /// Serve rollout progress as Prometheus metrics at http://ADDR/metrics while it runs.
    #[arg(long, value_name = "ADDR")]
    serve_metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    profile: ProfileArgs,
    #[command(flatten)]
    rollout: RolloutArgs,
    #[command(flatten)]
    steps: StepArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    factory: FactoryArgs,
    #[command(flatten)]
    tailnet: TailnetArgs,
    #[command(flatten)]
    gitops: GitopsArgs,
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
        WithoutFlags::StartSim,
    )
    .await?;
    let output = Output::new(&args.output).on(target.kind);
    let embedded = target.kind == TargetKind::EmbeddedSim;
    let cluster = target.cluster(&args.cluster)?;
    let repository = open_repository(&args.gitops, embedded, output)?;
    let profile = args.profile.profile(&target, &cluster, &args.tailnet)?;
    let dir = RolloutDir::new(&args.steps.artifacts, &cluster.name);
    let (rollout, events) = args
        .steps
        .builder(
            target.kind,
            &cluster,
            target.factory(&args.factory)?,
            profile.clone(),
            Some(&args.rollout),
        )?
        .take_over_stale_lock(args.take_over_stale_lock || args.resume || embedded)
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
    if args.abandon {
        return abandon(&rollout, output).await;
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
    if log.nothing_to_do {
        return Ok(exit::SUCCESS);
    }
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
    if args.profile.extension.extension == Extension::Tailscale {
        let tailnet = target.tailnet(&args.tailnet)?;
        write_emergency_access(&cluster, tailnet, &args.profile, &plan, store.dir(), output).await;
    }
    let mut in_step = true;
    if let Some(repository) = &repository {
        let options = args.gitops.options(profile.as_ref());
        let synced = gitops::sync_after_rollout(repository, &store, &plan, &summary, &options)
            .map_err(as_input_error)?;
        output.item(&json!({"event": "gitops_sync", "report": synced}), |_| {
            format!("\n{}", render_sync(&synced))
        });
        let drift = gitops::check(repository, ports.talos.as_ref(), &cluster.nodes).await?;
        in_step = drift.in_step();
        output.item(&json!({"event": "gitops_check", "report": drift}), |_| {
            render_drift(&drift)
        });
    }
    Ok(if report.succeeded && in_step {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}

/// The `--gitops` repository, checked before anything is changed; with the embedded sim an
/// empty DIR first gets the sim's sample repository.
fn open_repository(
    args: &GitopsArgs,
    embedded: bool,
    output: Output,
) -> anyhow::Result<Option<Repository>> {
    let Some(dir) = &args.gitops else {
        return Ok(None);
    };
    let empty =
        !dir.exists() || std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    if embedded && empty {
        sim::samples::write_talhelper_repository(dir).with_context(|| {
            format!("cannot write the sample repository into {}", dir.display())
        })?;
        output.note(format!(
            "wrote the sim's sample talhelper repository into {}",
            dir.display()
        ));
    }
    Repository::open(dir).map(Some).map_err(as_input_error)
}

/// `--abandon`: revokes what the journaled rollout minted and moves its files aside.
async fn abandon(rollout: &ExtensionRollout, output: Output) -> anyhow::Result<u8> {
    let abandoned = rollout.abandon().await.map_err(as_input_error)?;
    let mut text = format!(
        "abandoned the rollout; its files are in {}\n",
        abandoned.moved_to.display()
    );
    for id in &abandoned.withdrawn {
        text.push_str(&format!("revoked key {id}\n"));
    }
    for (id, why) in &abandoned.not_withdrawn {
        text.push_str(&format!(
            "could not revoke key {id} ({why}): revoke it by hand\n"
        ));
    }
    output.item(
        &json!({
            "event": "abandoned",
            "moved_to": abandoned.moved_to,
            "withdrawn": abandoned.withdrawn,
            "not_withdrawn": abandoned.not_withdrawn,
        }),
        |_| text,
    );
    Ok(if abandoned.not_withdrawn.is_empty() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}

/// Writes the emergency talosconfig and kubeconfig (MagicDNS names) next to the report and
/// says how to use them; a node without a device is noted, never fatal.
async fn write_emergency_access(
    cluster: &Cluster,
    tailnet: TailscaleClient,
    profile: &ProfileArgs,
    plan: &Plan,
    dir: &std::path::Path,
    output: Output,
) {
    let nodes: Vec<EmergencyNode> = plan
        .nodes
        .iter()
        .map(|node| EmergencyNode {
            node: node.node.clone(),
            hostname: node.nodename.clone(),
            control_plane: node.role == NodeRole::ControlPlane,
        })
        .collect();
    let tailnet = TailnetAdapter::new(tailnet).tags(profile.tailscale.tags.clone());
    let written = write_emergency_configs(
        dir,
        &cluster.name,
        &cluster.identity,
        &cluster.talos,
        &tailnet,
        &nodes,
    )
    .await;
    match written {
        Ok(written) => output.item(
            &json!({"event": "emergency_access", "configs": written, "usage": written.usage()}),
            |_| {
                let mut text = format!("{}\n", written.usage());
                for note in &written.notes {
                    text.push_str(&format!("  note: {note}\n"));
                }
                text
            },
        ),
        Err(error) => output.note(format!("no emergency tailnet configs: {error}")),
    }
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
