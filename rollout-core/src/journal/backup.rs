//! Machine-config backups: exact bytes, owner-only (0600), written before any change.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretSlice};

use super::file::private_options;
use crate::Error;

/// Where a node's backup lives inside a rollout directory.
pub fn backup_path(dir: &Path, node: &str) -> PathBuf {
    let safe = super::safe_file_name(node);
    dir.join("backups")
        .join(format!("{safe}.machineconfig.yaml"))
}

/// Writes a node's machine config backup (0600; written to a temporary file, synced, then renamed).
///
/// # Errors
/// [`Error::Io`] when the directory or file cannot be written.
pub fn write_backup(dir: &Path, node: &str, config: &SecretSlice<u8>) -> crate::Result<PathBuf> {
    let path = backup_path(dir, node);
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    let temporary = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut file = private_options()
        .create_new(true)
        .open(&temporary)
        .map_err(|e| Error::io("create backup", &temporary, e))?;
    file.write_all(config.expose_secret())
        .map_err(|e| Error::io("write backup", &temporary, e))?;
    file.sync_all()
        .map_err(|e| Error::io("sync backup", &temporary, e))?;
    std::fs::rename(&temporary, &path).map_err(|e| Error::io("rename backup to", &path, e))?;
    Ok(path)
}

/// Reads a node's machine config backup.
///
/// # Errors
/// [`Error::Io`] when there is no readable backup.
pub fn read_backup(dir: &Path, node: &str) -> crate::Result<SecretSlice<u8>> {
    let path = backup_path(dir, node);
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|e| Error::io("read backup", &path, e))?;
    Ok(SecretSlice::from(bytes))
}
