//! The GitOps drift check: compares a talhelper repository (`talos/talconfig.yaml`,
//! `talenv.yaml`, the patches it references) with what each node runs — Talos version,
//! schematic, installer image, and each `ExtensionServiceConfig` by a digest that leaves
//! secret values out — and prints the differences per node. It is rendering only: the
//! check is `talos_rollout::gitops::check`; `full-rollout --gitops DIR` keeps the
//! repository in step.
//!
//! Exits 0 when the repository is in step, 1 on drift, 2 when the repository is unusable
//! (no talconfig, not YAML, sops-encrypted, a missing patch file), 3 when a node cannot be
//! read. It needs only a talosconfig (no factory or tailnet credentials); `--sim` checks
//! against the embedded simulated cluster (which runs what the sim's sample repository
//! declares before any rollout).
//!
//! ```text
//! cargo run --example gitops -- --check ./home-ops --talosconfig ./talosconfig
//! cargo run --example gitops -- --check ./home-ops --talosconfig ./talosconfig --json
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use examples::exit::{self, finish, invalid_input};
use examples::gitops::render_drift;
use examples::output::{Output, OutputArgs};
use examples::target::{ClusterArgs, Target, TargetArgs, WithoutFlags};
use talos_rollout::Error;
use talos_rollout::adapters::TalosAdapter;
use talos_rollout::gitops::{Repository, check};

/// Compare a talhelper repository with the live cluster; exit 0 in step, 1 drift, 2 unusable repository.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Compare the repository with the cluster (the tool's one mode; required).
    #[arg(long)]
    check: bool,
    /// The repository: its root (with talos/talconfig.yaml) or the directory holding talconfig.yaml.
    #[arg(value_name = "DIR", default_value = ".")]
    repository: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    examples::output::init_tracing();
    finish(run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<u8> {
    if !args.check {
        return Err(invalid_input(
            "pass --check: the tool compares the repository with the cluster (full-rollout --gitops DIR updates it)",
        ));
    }
    let repository = Repository::open(&args.repository)?;
    let target = Target::choose(&args.target, &[&args.cluster], WithoutFlags::Refuse).await?;
    let output = Output::new(&args.output).on(target.kind);
    let cluster = target.cluster(&args.cluster)?;
    let port = TalosAdapter::new(cluster.talos.clone());
    let report = match check(&repository, &port, &cluster.nodes).await {
        Ok(report) => report,
        Err(Error::Port(error)) => {
            eprintln!("error: {error}");
            return Ok(exit::UNKNOWN);
        }
        Err(error) => return Err(error.into()),
    };
    output.result(&report, render_drift);
    Ok(if report.in_step() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}
