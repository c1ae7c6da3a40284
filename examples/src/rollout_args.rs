//! The rollout settings `full-rollout` and `rollback` share ([`StepArgs`]), those only a
//! rollout takes ([`RolloutArgs`]), and the [`RolloutSpec`] they make.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use factory_client::FactoryClient;
use talos_rollout::ExtensionRolloutBuilder;
use talos_rollout::core::RolloutSpec;
use talos_rollout::core::spec::FailurePolicy;
use talos_rollout::driver::KillPoint;
use talos_rollout::profile::ExtensionProfile;

use crate::target::{Cluster, TargetKind};

/// The artifacts directory and step timings (`full-rollout` and `rollback`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Rollout")]
pub struct StepArgs {
    /// Directory for the journal, lock, config backups, ESC patches and report.json.
    #[arg(long, default_value = "rollout-artifacts", value_name = "DIR")]
    pub artifacts: PathBuf,
    /// Seconds between two checks of a gate (default: 5, 1 on the embedded sim).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub check_interval_seconds: Option<u64>,
    /// Seconds a single call (backup, apply, reboot request, route approval) may take.
    #[arg(long, default_value_t = 120, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub step_seconds: u64,
    /// Seconds writing the new image may take (on Talos < 1.13 this includes the reboot the
    /// upgrade call waits for).
    #[arg(long, default_value_t = 1200, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub install_seconds: u64,
    /// Seconds a node may take to come back from its reboot.
    #[arg(long, default_value_t = 900, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub await_reboot_seconds: u64,
    /// Seconds the node checks (extension, service, Ready) and the tailnet checks may take.
    #[arg(long, default_value_t = 600, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub verify_seconds: u64,
}

/// Settings only a rollout takes (`full-rollout`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Rollout")]
pub struct RolloutArgs {
    /// Worker nodes rolled at once (control-plane nodes always go one at a time).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_unavailable: u64,
    /// What to do with a node that fails after it was changed.
    #[arg(long, value_enum, default_value_t = OnFailure::Halt)]
    pub on_failure: OnFailure,
    /// Seconds a node must stay healthy before the next starts (default: 60, 2 on the embedded sim).
    #[arg(long, value_name = "SECONDS")]
    pub soak_seconds: Option<u64>,
}

/// What happens to a failed node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnFailure {
    /// Stop and leave the node for a human.
    Halt,
    /// Restore its config and previous image, verify, then stop.
    Rollback,
}

/// For crash tests only: the environment variable naming a kill point (`journal:N` or
/// `after-call:STEP:NODE`) at which the rollout process ends itself.
pub const KILL_AT_ENV: &str = "TALOS_ROLLOUT_KILL_AT";

impl StepArgs {
    /// The front door for `cluster`, with these settings and, for a rollout, `rollout`'s, and
    /// the crash test's kill point when `TALOS_ROLLOUT_KILL_AT` is set (see [`KILL_AT_ENV`]).
    ///
    /// # Errors
    /// An invalid `TALOS_ROLLOUT_KILL_AT`.
    pub fn builder(
        &self,
        kind: TargetKind,
        cluster: &Cluster,
        factory: FactoryClient,
        profile: Arc<dyn ExtensionProfile>,
        rollout: Option<&RolloutArgs>,
    ) -> anyhow::Result<ExtensionRolloutBuilder> {
        let builder = talos_rollout::ExtensionRollout::builder()
            .talos(cluster.talos.clone())
            .factory(factory)
            .shared_profile(profile)
            .spec(self.spec(kind, rollout))
            .cluster(cluster.name.clone())
            .nodes(cluster.nodes.clone());
        Ok(match std::env::var(KILL_AT_ENV) {
            Ok(point) if !point.is_empty() => {
                builder.kill_at(point.parse::<KillPoint>().map_err(|error| {
                    crate::exit::invalid_input(format!("{KILL_AT_ENV}: {error}"))
                })?)
            }
            _ => builder,
        })
    }

    /// The spec; timings default shorter on the embedded sim, whose reboots take seconds.
    pub fn spec(&self, kind: TargetKind, rollout: Option<&RolloutArgs>) -> RolloutSpec {
        let sim = kind == TargetKind::EmbeddedSim;
        let soak = rollout.and_then(|rollout| rollout.soak_seconds);
        let mut spec = RolloutSpec {
            artifacts_dir: self.artifacts.clone(),
            soak: Duration::from_secs(soak.unwrap_or(if sim { 2 } else { 60 })),
            ..RolloutSpec::default()
        };
        if let Some(rollout) = rollout {
            spec.failure_policy = match rollout.on_failure {
                OnFailure::Halt => FailurePolicy::Halt,
                OnFailure::Rollback => FailurePolicy::Rollback,
            };
            spec.ordering.max_unavailable =
                usize::try_from(rollout.max_unavailable).unwrap_or(usize::MAX);
        }
        let timeouts = &mut spec.timeouts;
        timeouts.check_interval = Duration::from_secs(
            self.check_interval_seconds
                .unwrap_or(if sim { 1 } else { 5 }),
        );
        timeouts.step = Duration::from_secs(self.step_seconds);
        timeouts.install = Duration::from_secs(self.install_seconds);
        timeouts.await_reboot = Duration::from_secs(self.await_reboot_seconds);
        timeouts.verify = Duration::from_secs(self.verify_seconds);
        timeouts.post_verify = Duration::from_secs(self.verify_seconds);
        spec
    }
}
