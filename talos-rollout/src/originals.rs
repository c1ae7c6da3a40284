//! What each node ran before the project first touched it: its exact machine config, schematic,
//! installer image, version and extensions, recorded once per node and never overwritten, so
//! a rollback after any number of runs (halted, re-run, abandoned) still knows where home is.
//!
//! Layout: `<artifacts>/<cluster>/originals/<nodename>/{machineconfig.yaml, node.json}`, files
//! 0600, directories 0700. `node.json` is written last: a record without it is incomplete and
//! is completed (never replaced) by the next run.

use std::path::{Path, PathBuf};

use rollout_core::NodeFacts;
use rollout_core::plan::NodeImage;
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use talos_client::machine_config::ConfigDocuments;

use crate::Error;
use crate::journal::{RolloutDir, safe_file_name, write_private};

const CONFIG_FILE: &str = "machineconfig.yaml";
const RECORD_FILE: &str = "node.json";

/// The public part of a node's original state (its machine config is kept beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    /// The Talos API target the node was reached at when it was recorded.
    pub node: String,
    /// The node's hostname (the record's key).
    pub nodename: String,
    /// Talos version tag.
    pub version: String,
    /// Schematic ID, if the node runs a factory image.
    pub schematic_id: Option<String>,
    /// Installer image (`machine.install.image`).
    pub install_image: Option<String>,
    /// Official extensions it ran.
    pub extensions: Vec<String>,
    /// Names of the `ExtensionServiceConfig` documents it had.
    pub extension_service_configs: Vec<String>,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub recorded_unix_ms: u64,
}

impl Original {
    fn from_facts(facts: &NodeFacts) -> Self {
        Original {
            node: facts.node.clone(),
            nodename: facts.nodename.clone(),
            version: facts.version.clone(),
            schematic_id: facts.schematic_id.clone(),
            install_image: facts.install_image.clone(),
            extensions: facts.extensions.clone(),
            extension_service_configs: facts.extension_service_configs.keys().cloned().collect(),
            recorded_unix_ms: crate::journal::unix_ms(),
        }
    }

    /// What differs between this original and what the node runs now (empty: it is home).
    pub fn differences(&self, now: &NodeFacts) -> Vec<String> {
        let mut differences = Vec::new();
        let mut compare = |what: &str, was: String, is: String| {
            if was != is {
                differences.push(format!("{what} is {is}, originally {was}"));
            }
        };
        compare("version", self.version.clone(), now.version.clone());
        compare(
            "schematic",
            format!("{:?}", self.schematic_id),
            format!("{:?}", now.schematic_id),
        );
        compare(
            "install image",
            format!("{:?}", self.install_image),
            format!("{:?}", now.install_image),
        );
        let mut extensions = now.extensions.clone();
        extensions.sort();
        let mut original = self.extensions.clone();
        original.sort();
        compare("extensions", original.join(","), extensions.join(","));
        let escs: Vec<String> = now.extension_service_configs.keys().cloned().collect();
        compare(
            "extension service configs",
            self.extension_service_configs.join(","),
            escs.join(","),
        );
        differences
    }
}

/// The originals of one cluster's nodes.
#[derive(Debug, Clone)]
pub struct Originals {
    dir: PathBuf,
}

impl Originals {
    /// The store inside a cluster's rollout directory.
    pub fn new(dir: &RolloutDir) -> Self {
        Originals {
            dir: dir.dir().join("originals"),
        }
    }

    /// The directory of a node's record.
    pub fn path(&self, nodename: &str) -> PathBuf {
        self.dir.join(safe_file_name(nodename))
    }

    /// True when the node's original state is recorded.
    pub fn contains(&self, nodename: &str) -> bool {
        self.path(nodename).join(RECORD_FILE).exists()
    }

    /// Records a node's original state unless it is recorded already; returns whether it
    /// recorded. An existing record is never replaced.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written; [`Error::Journal`] when an incomplete
    /// record holds a machine config other than `config`.
    pub fn record_once(&self, facts: &NodeFacts, config: &SecretSlice<u8>) -> crate::Result<bool> {
        if self.contains(&facts.nodename) {
            return Ok(false);
        }
        let dir = self.path(&facts.nodename);
        write_once(&dir.join(CONFIG_FILE), config.expose_secret())?;
        let record = serde_json::to_vec_pretty(&Original::from_facts(facts)).map_err(|e| {
            Error::Journal {
                path: dir.join(RECORD_FILE),
                reason: format!("cannot encode the original state: {e}"),
            }
        })?;
        write_private(&dir.join(RECORD_FILE), &record)?;
        Ok(true)
    }

    /// A node's recorded original state, if any.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Journal`] when the record exists but cannot be read.
    pub fn get(&self, nodename: &str) -> crate::Result<Option<Original>> {
        let path = self.path(nodename).join(RECORD_FILE);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read original state", &path, e)),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| Error::Journal {
                path,
                reason: format!("the original state is unreadable ({e}); restore it from a copy"),
            })
    }

    /// What differs between a node's original state and what it runs now (`None`: no
    /// record; empty: it is home): version, schematic, install image, extensions, and each
    /// `ExtensionServiceConfig` absent or byte-identical to the original one.
    ///
    /// # Errors
    /// As [`Originals::get`] and [`Originals::machine_config`]; [`Error::Journal`] when the
    /// original machine config cannot be parsed.
    pub fn differences(&self, now: &NodeFacts) -> crate::Result<Option<Vec<String>>> {
        let Some(original) = self.get(&now.nodename)? else {
            return Ok(None);
        };
        let mut differences = original.differences(now);
        let config = self.machine_config(&now.nodename)?;
        let documents =
            ConfigDocuments::parse(config.expose_secret()).map_err(|e| Error::Journal {
                path: self.path(&now.nodename).join(CONFIG_FILE),
                reason: format!(
                    "the original machine config cannot be parsed ({e}); restore it from a copy"
                ),
            })?;
        let escs = crate::adapters::talos::esc_digests(&documents);
        for (name, digest) in &now.extension_service_configs {
            if escs.get(name).is_some_and(|was| was != digest) {
                differences.push(format!(
                    "extension service config {name} differs from the original"
                ));
            }
        }
        Ok(Some(differences))
    }

    /// The image a node ran originally (`None`: no record).
    ///
    /// # Errors
    /// As [`Originals::get`].
    pub fn image(&self, nodename: &str) -> crate::Result<Option<NodeImage>> {
        Ok(self.get(nodename)?.map(|original| NodeImage {
            version: original.version,
            schematic_id: original.schematic_id,
            install_image: original.install_image,
            extensions: original.extensions,
        }))
    }

    /// A node's original machine config, byte for byte.
    ///
    /// # Errors
    /// [`Error::Io`] when it is missing or unreadable.
    pub fn machine_config(&self, nodename: &str) -> crate::Result<SecretSlice<u8>> {
        let path = self.path(nodename).join(CONFIG_FILE);
        std::fs::read(&path)
            .map(SecretSlice::from)
            .map_err(|e| Error::io("read original machine config", &path, e))
    }
}

/// Writes `bytes` to `path` (0600) unless the file exists: identical bytes are accepted, other
/// bytes are refused, so a record or backup is never replaced.
///
/// # Errors
/// [`Error::Io`] when it cannot be written; [`Error::Journal`] when the file holds other bytes.
pub(crate) fn write_once(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    match std::fs::read(path) {
        Ok(existing) if existing == bytes => Ok(()),
        Ok(_) => Err(Error::Journal {
            path: path.to_owned(),
            reason:
                "it already holds other bytes and is never overwritten; move it aside only if you \
                     are sure it is not needed for a rollback"
                    .into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_private(path, bytes),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn facts(schematic: &str) -> NodeFacts {
        NodeFacts {
            node: "10.5.0.2".into(),
            nodename: "k8s-1".into(),
            role: rollout_core::NodeRole::ControlPlane,
            etcd_leader: false,
            version: "v1.10.4".into(),
            schematic_id: Some(schematic.into()),
            extensions: vec!["siderolabs/i915".into()],
            schematic_extensions: None,
            schematic_yaml: None,
            install_image: Some(format!("factory/installer/{schematic}:v1.10.4")),
            extension_service_configs: Default::default(),
            boot_id: None,
        }
    }

    #[test]
    fn the_first_record_of_a_node_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let originals = Originals::new(&RolloutDir::new(dir.path(), "seed"));
        let first = SecretSlice::from(b"original".to_vec());
        assert!(originals.record_once(&facts("aaa"), &first).unwrap());
        let later = SecretSlice::from(b"changed".to_vec());
        assert!(!originals.record_once(&facts("bbb"), &later).unwrap());
        let kept = originals.get("k8s-1").unwrap().unwrap();
        assert_eq!(kept.schematic_id.as_deref(), Some("aaa"));
        let config = originals.machine_config("k8s-1").unwrap();
        assert_eq!(config.expose_secret(), b"original");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            let node_dir = originals.path("k8s-1");
            assert_eq!(mode(&node_dir), 0o700);
            assert_eq!(mode(&node_dir.join(CONFIG_FILE)), 0o600);
            assert_eq!(mode(&node_dir.join(RECORD_FILE)), 0o600);
        }
    }

    #[test]
    fn differences_name_what_is_not_home_yet() {
        let original = Original::from_facts(&facts("aaa"));
        assert!(original.differences(&facts("aaa")).is_empty());
        let differences = original.differences(&facts("bbb"));
        assert!(
            differences.iter().any(|d| d.starts_with("schematic")),
            "{differences:?}"
        );
    }

    #[test]
    fn write_once_accepts_the_same_bytes_and_refuses_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.yaml");
        write_once(&path, b"one").unwrap();
        write_once(&path, b"one").unwrap();
        assert!(write_once(&path, b"two").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
    }
}
