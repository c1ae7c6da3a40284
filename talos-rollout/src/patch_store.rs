//! The files a rollout keeps besides the journal, lock and backups: each node's
//! `ExtensionServiceConfig` as a machine-config patch (0600: it holds secrets; resume reads
//! them back), the credential ID a run minted, and public records (schematics, reports).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rollout_core::plan::NodeConfigs;
use rollout_core::{ExtensionServiceConfig, Plan};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::journal::{RolloutDir, safe_file_name, write_private};

/// File recording the ID of the credential (auth key) a run minted.
const CREDENTIAL_ID_FILE: &str = "credential-id";
/// File recording that a run is about to create a credential (written before it does).
const CREDENTIAL_INTENT_FILE: &str = "credential-intent.json";

/// What a run records before it creates a credential, so that a crash between creating it and
/// recording its ID leaves a trace a person (or `abandon`) can follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialIntent {
    /// The run's rollout ID (milliseconds since the Unix epoch when it started).
    pub rollout: String,
    /// The profile creating it.
    pub profile: String,
    /// When the credential was about to be created, milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// The patches and records of one cluster's rollout, under its [`RolloutDir`].
#[derive(Debug, Clone)]
pub struct PatchStore {
    dir: RolloutDir,
}

impl PatchStore {
    /// The store inside a rollout directory.
    pub fn new(dir: RolloutDir) -> Self {
        PatchStore { dir }
    }

    /// Where a node's patch lives: `patches/<node>.<config name>.yaml`.
    pub fn patch_path(&self, node: &str, esc_name: &str) -> PathBuf {
        self.dir
            .dir()
            .join("patches")
            .join(format!("{}.{esc_name}.yaml", safe_file_name(node)))
    }

    /// Writes every node's config as a machine-config patch, owner-only (0600).
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written.
    pub fn write_patches(&self, configs: &NodeConfigs) -> crate::Result<BTreeMap<String, PathBuf>> {
        let mut written = BTreeMap::new();
        for (node, config) in configs.iter() {
            let path = self.patch_path(node, &config.name);
            let yaml = config.to_yaml().map_err(|error| Error::Journal {
                path: path.clone(),
                reason: format!("the config cannot be written as YAML: {error}"),
            })?;
            write_private(&path, yaml.as_bytes())?;
            written.insert(node.clone(), path);
        }
        Ok(written)
    }

    /// Reads back the configs `plan` was computed from (for resume and rollback) and checks
    /// their digests against the plan.
    ///
    /// # Errors
    /// [`Error::Journal`] when a patch is missing or unreadable;
    /// [`rollout_core::Error::InvalidExtensionConfig`] when one differs from the plan.
    pub fn read_configs(&self, plan: &Plan) -> crate::Result<NodeConfigs> {
        let mut configs = BTreeMap::new();
        for node in &plan.nodes {
            let Some(esc) = &node.extension.esc else {
                continue;
            };
            let path = self.patch_path(&node.node, &esc.name);
            let unreadable = |reason: String| Error::Journal {
                path: path.clone(),
                reason: format!(
                    "{reason}; the patches written when the rollout started are needed to resume it"
                ),
            };
            let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
            let config =
                ExtensionServiceConfig::from_yaml(&text).map_err(|e| unreadable(e.to_string()))?;
            configs.insert(node.node.clone(), config);
        }
        let configs = NodeConfigs::new(configs);
        configs.check_against(plan)?;
        Ok(configs)
    }

    /// Records the ID of a credential this run minted (so a person can revoke it).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn write_credential_id(&self, id: &str) -> crate::Result<PathBuf> {
        self.write_public(CREDENTIAL_ID_FILE, id.as_bytes())
    }

    /// The ID of the credential the journaled run minted, if it recorded one.
    pub fn credential_id(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.dir().join(CREDENTIAL_ID_FILE))
            .ok()
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
    }

    /// Records that this run is about to create a credential (before it does).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written (then nothing must be created).
    pub fn write_credential_intent(&self, intent: &CredentialIntent) -> crate::Result<PathBuf> {
        let json = serde_json::to_vec_pretty(intent).map_err(|e| Error::Journal {
            path: self.dir.dir().join(CREDENTIAL_INTENT_FILE),
            reason: format!("cannot encode the credential intent: {e}"),
        })?;
        self.write_public(CREDENTIAL_INTENT_FILE, &json)
    }

    /// The credential intent of the current rollout, if it recorded one.
    pub fn credential_intent(&self) -> Option<CredentialIntent> {
        let text = std::fs::read(self.dir.dir().join(CREDENTIAL_INTENT_FILE)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Writes a file that holds no secret (report, schematic) in the cluster directory
    /// (still owner-only: artifacts describe infrastructure).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn write_public(&self, name: &str, contents: &[u8]) -> crate::Result<PathBuf> {
        let path = self.dir.dir().join(name);
        write_private(&path, contents)?;
        Ok(path)
    }

    /// The cluster's rollout directory.
    pub fn dir(&self) -> &Path {
        self.dir.dir()
    }
}
