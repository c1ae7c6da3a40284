//! One lock per cluster: an OS file lock plus a record naming the holder and its heartbeat.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use super::file::private_options;
use super::unix_ms;
use crate::Error;

/// Who holds a cluster lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// Who started the rollout (user or controller name).
    pub owner: String,
    /// Host it runs on.
    pub host: String,
    /// Process ID.
    pub pid: u32,
    /// Last heartbeat, milliseconds since the Unix epoch.
    pub heartbeat_unix_ms: u64,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let age = unix_ms().saturating_sub(self.heartbeat_unix_ms) / 1000;
        write!(
            f,
            "{} on {} (pid {}), last heartbeat {age}s ago",
            self.owner, self.host, self.pid
        )
    }
}

/// A held cluster lock; released (record cleared, OS lock dropped) when dropped.
#[derive(Debug)]
pub struct ClusterLock {
    path: PathBuf,
    file: File,
    holder: LockHolder,
}

impl ClusterLock {
    /// Takes the lock for `cluster` at `path`.
    ///
    /// A lock held by a running process is always refused, naming the holder. A lock left
    /// behind by a process that is gone is refused too unless `take_over_stale` is set.
    ///
    /// # Errors
    /// [`Error::LockHeld`] naming the holder; [`Error::Io`] when the file cannot be used.
    pub fn acquire(
        path: &Path,
        cluster: &str,
        owner: &str,
        take_over_stale: bool,
    ) -> crate::Result<Self> {
        if let Some(parent) = path.parent() {
            super::create_private_dir(parent)?;
        }
        let mut file = private_options()
            .read(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("open lock", path, e))?;
        let locked = FileExt::try_lock_exclusive(&file).map_err(|e| Error::io("lock", path, e))?;
        let previous = read_holder(&mut file);
        if !locked {
            let holder =
                previous.map_or_else(|| "another process".to_owned(), |holder| holder.to_string());
            return Err(Error::LockHeld {
                cluster: cluster.to_owned(),
                holder,
            });
        }
        if let Some(stale) = previous {
            if !take_over_stale {
                let _ = FileExt::unlock(&file);
                return Err(Error::LockHeld {
                    cluster: cluster.to_owned(),
                    holder: format!("{stale} (stale: that process no longer holds it)"),
                });
            }
            tracing::warn!(cluster, previous = %stale, "taking over a stale rollout lock");
        }
        let holder = LockHolder {
            owner: owner.to_owned(),
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into()),
            pid: std::process::id(),
            heartbeat_unix_ms: unix_ms(),
        };
        let mut lock = ClusterLock {
            path: path.to_owned(),
            file,
            holder,
        };
        lock.write_record()?;
        Ok(lock)
    }

    /// Refreshes the heartbeat.
    ///
    /// # Errors
    /// [`Error::Io`] when the record cannot be written.
    pub fn heartbeat(&mut self) -> crate::Result<()> {
        self.holder.heartbeat_unix_ms = unix_ms();
        self.write_record()
    }

    /// This lock's holder record.
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }

    fn write_record(&mut self) -> crate::Result<()> {
        let record = serde_json::to_vec(&self.holder).map_err(|e| Error::Journal {
            path: self.path.clone(),
            reason: format!("cannot encode lock record: {e}"),
        })?;
        let io = |e| Error::io("write lock", &self.path, e);
        self.file.set_len(0).map_err(io)?;
        self.file.seek(SeekFrom::Start(0)).map_err(io)?;
        self.file.write_all(&record).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.sync_data();
        let _ = FileExt::unlock(&self.file);
    }
}

/// The lock owner when none is named: `$USER`, else `rollout`.
pub(crate) fn default_owner() -> String {
    std::env::var("USER").unwrap_or_else(|_| "rollout".to_owned())
}

fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}
