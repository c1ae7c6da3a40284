//! The cluster lock flags every tool that writes to nodes or the tailnet shares, and the one
//! call that takes the lock.

use std::path::PathBuf;

use talos_rollout::journal::{ClusterLock, lock_cluster};

use crate::target::TargetKind;

/// Where the cluster lock lives and whether a stale one may be taken over.
#[derive(Debug, Clone, clap::Args)]
pub struct LockArgs {
    /// The artifacts directory full-rollout uses for this cluster (its lock.json is shared).
    #[arg(
        long,
        default_value = "rollout-artifacts",
        value_name = "DIR",
        help_heading = "Lock"
    )]
    pub artifacts: PathBuf,
    /// Take over a cluster lock whose holder process is gone (never one that is alive).
    #[arg(long, help_heading = "Lock")]
    pub take_over_stale_lock: bool,
}

impl LockArgs {
    /// Takes the lock of `cluster` (a stale one too on the embedded sim, which lives only as
    /// long as this process); a refusal is an error naming the holder.
    ///
    /// # Errors
    /// The lock is held (naming the holder and the take-over flag) or unusable.
    pub fn lock(&self, kind: TargetKind, cluster: &str) -> anyhow::Result<ClusterLock> {
        let take_over = self.take_over_stale_lock || kind == TargetKind::EmbeddedSim;
        Ok(lock_cluster(&self.artifacts, cluster, take_over)?)
    }
}
