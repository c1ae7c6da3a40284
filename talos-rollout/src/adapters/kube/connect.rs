//! Where the kubeconfig comes from: a path the user gives, `$KUBECONFIG`, `~/.kube/config`,
//! or (when none exists) the Talos API's `Kubeconfig` (admin only, control planes only), as
//! talosctl does; and the kube-rs client built from it with kube-rs's own retries off (the
//! adapter retries 429s itself, within the drain timeout).

use std::io::Read;
use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};
use rollout_core::{PortError, PortErrorKind};
use secrecy::{ExposeSecret, SecretString};

use super::errors::PORT;

/// The source of the kubeconfig.
#[derive(Debug, Clone)]
pub enum KubeconfigSource {
    /// A file the user named (`--kubeconfig`).
    Path(PathBuf),
    /// kubeconfig YAML already in memory (for example from [`kubeconfig_via_talos`]).
    Yaml(SecretString),
}

impl KubeconfigSource {
    /// The user's kubeconfig: `explicit` if given, else the first file named by
    /// `$KUBECONFIG`, else `~/.kube/config`; `None` when none of them exists (then ask the
    /// Talos API with [`kubeconfig_via_talos`]).
    pub fn from_user(explicit: Option<&Path>) -> Option<Self> {
        if let Some(path) = explicit {
            return Some(Self::Path(path.to_owned()));
        }
        let from_env = std::env::var_os("KUBECONFIG").and_then(|paths| {
            std::env::split_paths(&paths).find(|p| !p.as_os_str().is_empty() && p.exists())
        });
        let default = || {
            dirs_home()
                .map(|h| h.join(".kube").join("config"))
                .filter(|p| p.exists())
        };
        from_env.or_else(default).map(Self::Path)
    }

    fn read(&self) -> Result<Kubeconfig, PortError> {
        match self {
            Self::Path(path) => Kubeconfig::read_from(path).map_err(|e| {
                config_error(format!(
                    "could not read the kubeconfig {}: {e}; pass a readable kubeconfig",
                    path.display()
                ))
            }),
            Self::Yaml(yaml) => Kubeconfig::from_yaml(yaml.expose_secret())
                .map_err(|e| config_error(format!("the kubeconfig could not be parsed: {e}"))),
        }
    }
}

fn dirs_home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

fn config_error(message: String) -> PortError {
    PortError::new(PORT, "connect", PortErrorKind::Rejected, message)
}

/// A kube-rs client for `source` (its current context), with kube-rs's built-in retries of
/// 429/503/504 switched off.
///
/// # Errors
///
/// A `Rejected` port error when the kubeconfig cannot be read or names no usable cluster or
/// credentials.
pub async fn connect(source: &KubeconfigSource) -> Result<kube::Client, PortError> {
    let kubeconfig = source.read()?;
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| {
        config_error(format!(
            "the kubeconfig cannot be used: {e}; check its current context, server and credentials"
        ))
    })?;
    config.default_retry = false;
    kube::Client::try_from(config)
        .map_err(|e| config_error(format!("could not build a Kubernetes client: {e}")))
}

/// Fetches an admin kubeconfig through the Talos API (`MachineService.Kubeconfig`) from
/// `control_plane`, as talosctl does when no kubeconfig is given.
///
/// # Errors
///
/// `PermissionDenied` without `os:admin`; `Unsupported` on a worker node; `Rejected` when the
/// archive holds no kubeconfig.
///
/// # Caveats
///
/// Talos never closes the tar stream, so only the first entry is read. The kubeconfig's
/// server is the cluster's control-plane endpoint, which may not be reachable from here.
pub async fn kubeconfig_via_talos(
    talos: &talos_client::TalosClient,
    control_plane: &str,
) -> Result<SecretString, PortError> {
    let archive = talos.node(control_plane).kubeconfig().await.map_err(|e| {
        let kind = if e.is_permission_denied() {
            PortErrorKind::PermissionDenied
        } else if e.is_unimplemented() {
            PortErrorKind::Unsupported
        } else {
            PortErrorKind::Unavailable
        };
        PortError::new(
            PORT,
            "fetch kubeconfig",
            kind,
            format!(
                "{control_plane}: the Talos API did not return a kubeconfig ({e}); use an os:admin talosconfig and a control-plane node, or pass --kubeconfig"
            ),
        )
    })?;
    first_entry(&archive).map(SecretString::from)
}

/// The first file of a gzip'd tar (read without expecting an end-of-archive marker).
fn first_entry(archive: &[u8]) -> Result<String, PortError> {
    let bad = |what: String| {
        PortError::new(
            PORT,
            "fetch kubeconfig",
            PortErrorKind::Rejected,
            format!(
                "the Talos API's kubeconfig archive is unreadable: {what}; pass --kubeconfig instead"
            ),
        )
    };
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut entries = tar.entries().map_err(|e| bad(e.to_string()))?;
    let mut entry = entries
        .next()
        .ok_or_else(|| bad("it holds no file".to_owned()))?
        .map_err(|e| bad(e.to_string()))?;
    let mut text = String::new();
    entry
        .read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    Ok(text)
}
