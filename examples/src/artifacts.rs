//! Files a rollout leaves in its artifacts directory besides rollout-core's journal, lock
//! and backups: per-node ExtensionServiceConfig patches (0600: they hold the auth key),
//! the target schematics and `report.json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rollout_core::journal::RolloutDir;
use talos_client::machine_config::ExtensionServiceConfig;

/// The artifacts of one cluster's rollout.
#[derive(Debug, Clone)]
pub struct Artifacts {
    root: PathBuf,
    dir: RolloutDir,
}

impl Artifacts {
    /// `<root>/<cluster>/`, the same directory rollout-core journals into.
    pub fn new(root: &Path, cluster: &str) -> Self {
        Artifacts {
            root: root.to_owned(),
            dir: RolloutDir::new(root, cluster),
        }
    }

    /// The artifacts root (`--artifacts`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// rollout-core's paths for this cluster.
    pub fn rollout_dir(&self) -> &RolloutDir {
        &self.dir
    }

    /// Where a node's ESC patch lives.
    pub fn patch_path(&self, node: &str, esc_name: &str) -> PathBuf {
        let safe: String = node
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir
            .dir()
            .join("patches")
            .join(format!("{safe}.{esc_name}.yaml"))
    }

    /// Writes a node's ExtensionServiceConfig as a machine-config patch, owner-only (0600).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_patch(&self, node: &str, esc: &ExtensionServiceConfig) -> anyhow::Result<PathBuf> {
        let path = self.patch_path(node, &esc.name);
        write_private(&path, esc.to_yaml()?.as_bytes())?;
        Ok(path)
    }

    /// Reads a node's patch back (for `--resume`).
    ///
    /// # Errors
    /// When the patch is missing or not an ExtensionServiceConfig.
    pub fn read_patch(&self, node: &str, esc_name: &str) -> anyhow::Result<ExtensionServiceConfig> {
        let path = self.patch_path(node, esc_name);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}; was the rollout started with this --artifacts directory?",
                path.display()
            )
        })?;
        Ok(ExtensionServiceConfig::from_yaml(&text)?)
    }

    /// Writes a file that holds no secret (report, schematic) under the cluster directory.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_public(&self, name: &str, contents: &[u8]) -> anyhow::Result<PathBuf> {
        let path = self.dir.dir().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

/// Creates or replaces `path` with mode 0600 from the start (never world-readable).
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot restrict {}", path.display()))?;
        }
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
