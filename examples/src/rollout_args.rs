//! The rollout settings `full-rollout` and `rollback` share, and the [`RolloutSpec`] they make.

use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use talos_rollout::ExtensionRolloutBuilder;
use talos_rollout::core::RolloutSpec;
use talos_rollout::core::spec::FailurePolicy;
use talos_rollout::driver::KillPoint;
use talos_rollout::profile::ExtensionProfile;

use crate::target::{Target, TargetKind};

/// Rollout settings.
#[derive(Debug, Clone, clap::Args)]
pub struct RolloutArgs {
    /// Directory for the journal, lock, config backups, ESC patches and report.json.
    #[arg(
        long,
        default_value = "rollout-artifacts",
        value_name = "DIR",
        help_heading = "Rollout"
    )]
    pub artifacts: PathBuf,
    /// Worker nodes rolled at once (control-plane nodes always go one at a time).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Rollout")]
    pub max_unavailable: u64,
    /// What to do with a node that fails after it was changed.
    #[arg(long, value_enum, default_value_t = OnFailure::Halt, help_heading = "Rollout")]
    pub on_failure: OnFailure,
    /// Seconds a node must stay healthy before the next starts (default: 60, 2 on the embedded sim).
    #[arg(long, value_name = "SECONDS", help_heading = "Rollout")]
    pub soak_seconds: Option<u64>,
    /// Seconds between two checks of a gate (default: 5, 1 on the embedded sim).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Rollout")]
    pub check_interval_seconds: Option<u64>,
    /// Seconds a single call (backup, apply, reboot request, route approval) may take.
    #[arg(long, default_value_t = 120, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Rollout")]
    pub step_seconds: u64,
    /// Seconds writing the new image may take (on Talos < 1.13 this includes the reboot the
    /// upgrade call waits for).
    #[arg(long, default_value_t = 1200, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Rollout")]
    pub install_seconds: u64,
    /// Seconds a node may take to come back from its reboot.
    #[arg(long, default_value_t = 900, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Rollout")]
    pub await_reboot_seconds: u64,
    /// Seconds the node checks (extension, service, Ready) and the tailnet checks may take.
    #[arg(long, default_value_t = 600, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Rollout")]
    pub verify_seconds: u64,
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

impl RolloutArgs {
    /// The front door for `target`, rolling `profile` with these settings, and the crash
    /// test's kill point when `TALOS_ROLLOUT_KILL_AT` is set (see [`KILL_AT_ENV`]).
    ///
    /// # Errors
    /// An invalid `TALOS_ROLLOUT_KILL_AT`.
    pub fn rollout(
        &self,
        target: &Target,
        profile: Arc<dyn ExtensionProfile>,
    ) -> anyhow::Result<ExtensionRolloutBuilder> {
        let builder = talos_rollout::ExtensionRollout::builder()
            .talos(target.talos.clone())
            .factory(target.factory.clone())
            .shared_profile(profile)
            .spec(self.spec(target))
            .cluster(target.cluster.clone())
            .nodes(target.nodes.clone());
        Ok(match std::env::var(KILL_AT_ENV) {
            Ok(point) if !point.is_empty() => {
                builder.kill_at(point.parse::<KillPoint>().map_err(|error| {
                    crate::exit::invalid_input(format!("{KILL_AT_ENV}: {error}"))
                })?)
            }
            _ => builder,
        })
    }

    /// The spec for `target`; timings default shorter on the embedded sim, whose reboots
    /// take seconds.
    pub fn spec(&self, target: &Target) -> RolloutSpec {
        let sim = target.kind == TargetKind::EmbeddedSim;
        let mut spec = RolloutSpec {
            artifacts_dir: self.artifacts.clone(),
            failure_policy: match self.on_failure {
                OnFailure::Halt => FailurePolicy::Halt,
                OnFailure::Rollback => FailurePolicy::Rollback,
            },
            soak: Duration::from_secs(self.soak_seconds.unwrap_or(if sim { 2 } else { 60 })),
            ..RolloutSpec::default()
        };
        spec.ordering.max_unavailable = usize::try_from(self.max_unavailable).unwrap_or(usize::MAX);
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
