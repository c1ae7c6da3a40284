//! Emergency access for when the LAN path is down: a talosconfig whose context reaches the
//! nodes by their MagicDNS names, and an admin kubeconfig pointing at a control-plane
//! node's MagicDNS name; both written 0600 into the artifacts directory.

use std::io::Read;
use std::path::{Path, PathBuf};

use rollout_core::{PortError, PortErrorKind};
use serde::Serialize;
use talos_client::TalosClient;
use talos_client::config::{Context, TalosConfig};
use talos_client::identity::ClientIdentity;

use super::port::TailnetPort;

/// File name of the emergency talosconfig in the artifacts directory.
pub const EMERGENCY_TALOSCONFIG: &str = "talosconfig.tailnet";
/// File name of the emergency kubeconfig in the artifacts directory.
pub const EMERGENCY_KUBECONFIG: &str = "kubeconfig.tailnet";
/// The Kubernetes API port of control-plane nodes.
const KUBERNETES_API_PORT: u16 = 6443;

/// A node to give emergency access to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyNode {
    /// The node as the Talos API targets it over the LAN (address or hostname).
    pub node: String,
    /// Its tailnet device's hostname.
    pub hostname: String,
    /// Whether it runs the Kubernetes control plane.
    pub control_plane: bool,
}

/// What [`write_emergency_configs`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmergencyConfigs {
    /// The talosconfig (context `<cluster>-tailnet`).
    pub talosconfig: PathBuf,
    /// The kubeconfig, when a control-plane node could give one.
    pub kubeconfig: Option<PathBuf>,
    /// The nodes' MagicDNS names, in node order.
    pub names: Vec<String>,
    /// What could not be done, and why.
    pub notes: Vec<String>,
}

impl EmergencyConfigs {
    /// How to use them when the LAN path is down.
    pub fn usage(&self) -> String {
        let mut usage = format!(
            "emergency access over the tailnet: talosctl --talosconfig {} version",
            self.talosconfig.display()
        );
        if let Some(kubeconfig) = &self.kubeconfig {
            usage.push_str(&format!(
                "; kubectl --kubeconfig {} get nodes",
                kubeconfig.display()
            ));
        }
        usage
    }
}

/// Writes the emergency talosconfig (endpoints: the control-plane nodes' MagicDNS names,
/// nodes: every node's) with `identity`, and the admin kubeconfig read from the first
/// control-plane node with its server set to that node's MagicDNS name.
///
/// # Errors
///
/// [`crate::Error::Port`] when no node has a tailnet device yet; [`crate::Error::Io`] when
/// a file cannot be written.
pub async fn write_emergency_configs(
    dir: &Path,
    cluster: &str,
    identity: &ClientIdentity,
    talos: &TalosClient,
    tailnet: &dyn TailnetPort,
    nodes: &[EmergencyNode],
) -> crate::Result<EmergencyConfigs> {
    let mut notes = Vec::new();
    let mut names = Vec::new();
    let mut control_planes = Vec::new();
    for node in nodes {
        match tailnet.device(&node.hostname).await {
            Ok(Some(device)) if !device.dns_name.is_empty() => {
                if node.control_plane {
                    control_planes.push((node, device.dns_name.clone()));
                }
                names.push(device.dns_name);
            }
            Ok(_) => notes.push(format!("{}: no tailnet device yet", node.hostname)),
            Err(error) => notes.push(format!("{}: {error}", node.hostname)),
        }
    }
    if names.is_empty() {
        return Err(PortError::new(
            "tailnet",
            "write emergency configs",
            PortErrorKind::NotFound,
            "no node has a tailnet device with a MagicDNS name yet; run the rollout first",
        )
        .into());
    }
    let endpoints: Vec<String> = if control_planes.is_empty() {
        names.clone()
    } else {
        control_planes
            .iter()
            .map(|(_, name)| name.clone())
            .collect()
    };
    let context = Context::new(
        format!("{cluster}-tailnet"),
        endpoints,
        names.clone(),
        identity.clone(),
    )
    .map_err(|error| invalid_config(&error.to_string()))?;
    let talosconfig = dir.join(EMERGENCY_TALOSCONFIG);
    TalosConfig::new(context)
        .write_to(&talosconfig)
        .map_err(|error| invalid_config(&error.to_string()))?;
    let kubeconfig = match control_planes.first() {
        None => {
            notes.push("no control-plane node on the tailnet: no kubeconfig".to_owned());
            None
        }
        Some((node, name)) => match tailnet_kubeconfig(talos, &node.node, name).await {
            Ok(text) => {
                let path = dir.join(EMERGENCY_KUBECONFIG);
                sdk_support::private_file::write(&path, text.as_bytes()).map_err(|source| {
                    crate::Error::Io {
                        action: "write",
                        path: path.clone(),
                        source,
                    }
                })?;
                Some(path)
            }
            Err(reason) => {
                notes.push(format!("no kubeconfig: {reason}"));
                None
            }
        },
    };
    Ok(EmergencyConfigs {
        talosconfig,
        kubeconfig,
        names,
        notes,
    })
}

fn invalid_config(reason: &str) -> crate::Error {
    PortError::new(
        "talos",
        "write emergency talosconfig",
        PortErrorKind::Other,
        format!("{reason}; check the talosconfig identity"),
    )
    .into()
}

/// The node's admin kubeconfig with every `server:` pointing at `name`.
async fn tailnet_kubeconfig(talos: &TalosClient, node: &str, name: &str) -> Result<String, String> {
    let archive = talos
        .node(node)
        .kubeconfig()
        .await
        .map_err(|error| error.to_string())?;
    let text = unpack_kubeconfig(&archive)?;
    Ok(with_server(
        &text,
        &format!("https://{name}:{KUBERNETES_API_PORT}"),
    ))
}

/// The `kubeconfig` file of the gzip-compressed tar archive Talos sends.
fn unpack_kubeconfig(archive: &[u8]) -> Result<String, String> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let entries = tar.entries().map_err(|error| error.to_string())?;
    for entry in entries {
        let mut entry = entry.map_err(|error| error.to_string())?;
        let is_kubeconfig = entry
            .path()
            .map(|path| path.as_ref() == Path::new("kubeconfig"))
            .unwrap_or(false);
        if is_kubeconfig {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|error| error.to_string())?;
            return Ok(text);
        }
    }
    Err("the node's kubeconfig archive holds no kubeconfig file".to_owned())
}

/// `kubeconfig` with the value of every `server:` key replaced by `server`.
fn with_server(kubeconfig: &str, server: &str) -> String {
    kubeconfig
        .split_inclusive('\n')
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            match line.trim_start().strip_prefix("server:") {
                Some(_) => {
                    let eol = if line.ends_with("\r\n") {
                        "\r\n"
                    } else if line.ends_with('\n') {
                        "\n"
                    } else {
                        ""
                    };
                    format!("{}server: {server}{eol}", &line[..indent])
                }
                None => line.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_server_lines_change() {
        let original = "clusters:\n    - name: sim\n      cluster:\n        server: https://10.5.0.2:6443\n        certificate-authority-data: Q0E=\n";
        let expected = "clusters:\n    - name: sim\n      cluster:\n        server: https://k8s-1.tail1234.ts.net:6443\n        certificate-authority-data: Q0E=\n";
        assert_eq!(
            with_server(original, "https://k8s-1.tail1234.ts.net:6443"),
            expected
        );
    }
}
