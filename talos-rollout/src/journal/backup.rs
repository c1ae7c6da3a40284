//! Machine-config backups: exact bytes, owner-only (0600), written before any change.

use std::io::Read;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretSlice};

use crate::Error;

/// Where a node's backup lives inside a rollout directory.
pub fn backup_path(dir: &Path, node: &str) -> PathBuf {
    let safe = super::safe_file_name(node);
    dir.join("backups")
        .join(format!("{safe}.machineconfig.yaml"))
}

/// Writes a node's machine config backup (0600; written to a temporary file, synced, then
/// renamed). A backup is never overwritten: writing the same bytes again (a step repeated
/// after a crash) is accepted, other bytes are refused.
///
/// # Errors
/// [`Error::Io`] when the directory or file cannot be written; [`Error::Journal`] when this
/// rollout already backed the node up with other bytes.
pub fn write_backup(dir: &Path, node: &str, config: &SecretSlice<u8>) -> crate::Result<PathBuf> {
    let path = backup_path(dir, node);
    crate::originals::write_once(&path, config.expose_secret())?;
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
