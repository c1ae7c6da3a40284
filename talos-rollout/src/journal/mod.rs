//! Durable state in the artifacts directory: the append-only journal, the cluster lock and
//! machine-config backups. Layout: `<artifacts>/<cluster>/{journal.jsonl, lock.json, backups/,
//! patches/}` (see [`crate::patch_store`]).

mod backup;
mod file;
mod lock;

use std::path::{Path, PathBuf};

pub use backup::{backup_path, read_backup, write_backup};
pub use file::{Journal, JournalContents, JournalRecord};
pub use lock::{ClusterLock, LockHolder};

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

/// Creates or replaces `path` with `contents`, owner-only (0600) from the first byte: a
/// temporary file is written and synced, then renamed over `path`.
///
/// # Errors
/// [`crate::Error::Io`] when the directory or file cannot be written.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> crate::Result<()> {
    use std::io::Write as _;
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| crate::Error::io("create directory", parent, e))?;
    let temporary = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut file = file::private_options()
        .create_new(true)
        .open(&temporary)
        .map_err(|e| crate::Error::io("create", &temporary, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| crate::Error::io("write", &temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| crate::Error::io("rename to", path, e))
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
