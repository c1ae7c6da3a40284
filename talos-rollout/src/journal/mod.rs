//! Durable state in the artifacts directory: the append-only journal, the cluster lock and
//! machine-config backups. Layout: `<artifacts>/<cluster>/{journal.jsonl, lock.json, backups/,
//! patches/}` (see [`crate::patch_store`]) for the current rollout, `history/<unix ms>/` for
//! earlier ones, and `originals/` (see [`crate::originals`]) for what each node ran first.

mod backup;
mod file;
mod lock;

use std::path::{Path, PathBuf};

pub use backup::{backup_path, read_backup, write_backup};
pub use file::{Journal, JournalContents, JournalRecord};
pub(crate) use lock::default_owner;
pub use lock::{ClusterLock, LockHolder};

/// The files and directories that belong to one rollout (moved aside together).
const ROLLOUT_FILES: [&str; 6] = [
    "journal.jsonl",
    "backups",
    "patches",
    "credential-id",
    "credential-intent.json",
    "report.json",
];

/// Paths of one cluster's rollout state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutDir {
    dir: PathBuf,
}

impl RolloutDir {
    /// The directory for `cluster` under the artifacts directory.
    pub fn new(artifacts_dir: &Path, cluster: &str) -> Self {
        RolloutDir {
            dir: artifacts_dir.join(safe_file_name(cluster)),
        }
    }

    /// The directory itself (backups live under it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal file.
    pub fn journal(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    /// The lock file.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock.json")
    }

    /// Moves a finished rollout's own files (journal, backups, patches, credential records,
    /// report) into `history/<name>/` (e.g. the unix ms of the move), so the next rollout starts with its own and never
    /// overwrites them. Files that do not exist are skipped; the originals stay where they are.
    ///
    /// # Errors
    /// [`crate::Error::Io`] when a file cannot be moved.
    pub fn archive_rollout(&self, name: &str) -> crate::Result<PathBuf> {
        let target = self.dir.join("history").join(safe_file_name(name));
        create_private_dir(&target)?;
        for name in ROLLOUT_FILES {
            let from = self.dir.join(name);
            if from.exists() {
                let to = target.join(name);
                std::fs::rename(&from, &to)
                    .map_err(|e| crate::Error::io("move aside to", &to, e))?;
            }
        }
        Ok(target)
    }

    /// Moves a finished journal aside (`journal-<unix ms>.jsonl`) so a new rollout can start.
    ///
    /// # Errors
    /// [`crate::Error::Io`] when the rename fails.
    pub fn archive_journal(&self, stamp_unix_ms: u64) -> crate::Result<PathBuf> {
        let target = self.dir.join(format!("journal-{stamp_unix_ms}.jsonl"));
        std::fs::rename(self.journal(), &target)
            .map_err(|e| crate::Error::io("archive journal to", &target, e))?;
        Ok(target)
    }
}

/// Takes the cluster lock that every tool writing to the cluster's nodes or tailnet shares
/// (rollout, rollback, key rotation, route approval), owned by `$USER`; released when dropped.
///
/// # Errors
/// [`crate::Error::LockHeld`] naming the holder (host, pid, heartbeat age) and how to take a
/// stale lock over; [`crate::Error::Io`] when the lock file cannot be used.
pub fn lock_cluster(
    artifacts_dir: &Path,
    cluster: &str,
    take_over_stale: bool,
) -> crate::Result<ClusterLock> {
    let path = RolloutDir::new(artifacts_dir, cluster).lock();
    ClusterLock::acquire(&path, cluster, &lock::default_owner(), take_over_stale)
}

/// Creates or replaces `path` with `contents`, owner-only (0600) from the first byte, in
/// directories created 0700.
///
/// # Errors
/// [`crate::Error::Io`] when the directory or file cannot be written.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> crate::Result<()> {
    sdk_support::private_file::write(path, contents).map_err(|e| crate::Error::io("write", path, e))
}

/// Creates a directory for private files (0700) and its missing parents.
///
/// # Errors
/// [`crate::Error::Io`] when it cannot be created.
pub(crate) fn create_private_dir(dir: &Path) -> crate::Result<()> {
    sdk_support::private_file::create_dirs(dir)
        .map_err(|e| crate::Error::io("create directory", dir, e))
}

/// `name` with every character but ASCII letters, digits, `-` and `.` replaced by `_`.
pub(crate) fn safe_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Wall-clock milliseconds since the Unix epoch (journal and lock records only; the state
/// machine never reads the clock).
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
