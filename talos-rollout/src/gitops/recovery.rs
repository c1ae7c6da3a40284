//! The recovery bundle a rollout leaves in its artifacts before touching a node:
//! `recovery/schematic-id.txt`, `recovery/installers.json` (original and new installer
//! per node, where the original config is kept) and `recovery/RUNBOOK.md` with the exact
//! rollback and troubleshooting commands for this cluster, node addresses filled in.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rollout_core::Plan;
use rollout_core::plan::NodePlan;
use serde::Serialize;

use crate::journal::backup_path;
use crate::patch_store::PatchStore;

/// Directory of the bundle inside the cluster's artifacts directory.
pub const RECOVERY_DIR: &str = "recovery";

/// One node's line in `installers.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallerRecord {
    /// The node as the Talos API targets it.
    pub node: String,
    /// Kubernetes node name.
    pub nodename: String,
    /// What it ran before the rollout.
    pub original_image: Option<String>,
    /// Its schematic before the rollout.
    pub original_schematic: Option<String>,
    /// Its Talos version before the rollout.
    pub original_version: String,
    /// What the rollout installs.
    pub new_image: Option<String>,
    /// The schematic the rollout installs.
    pub new_schematic: Option<String>,
    /// Where the machine config is saved before the node is changed (0600).
    pub original_config: PathBuf,
}

/// Writes the bundle for `plan` and returns its directory.
///
/// # Errors
/// [`crate::Error::Io`] when a file cannot be written.
pub fn write_bundle(store: &PatchStore, plan: &Plan) -> crate::Result<PathBuf> {
    let dir = Path::new(RECOVERY_DIR);
    let records: Vec<InstallerRecord> = plan
        .nodes
        .iter()
        .map(|node| record(store.dir(), node))
        .collect();
    let ids: Vec<&str> = plan.schematics.iter().map(|s| s.id.as_str()).collect();
    store.write_public(
        &dir.join("schematic-id.txt").to_string_lossy(),
        format!("{}\n", ids.join("\n")).as_bytes(),
    )?;
    let json = serde_json::to_string_pretty(&records).unwrap_or_default();
    store.write_public(
        &dir.join("installers.json").to_string_lossy(),
        json.as_bytes(),
    )?;
    let runbook = runbook(store.dir(), plan, &records);
    store.write_public(
        &dir.join("RUNBOOK.md").to_string_lossy(),
        runbook.as_bytes(),
    )?;
    Ok(store.dir().join(RECOVERY_DIR))
}

fn record(cluster_dir: &Path, node: &NodePlan) -> InstallerRecord {
    InstallerRecord {
        node: node.node.clone(),
        nodename: node.nodename.clone(),
        original_image: node.from.install_image.clone(),
        original_schematic: node.from.schematic_id.clone(),
        original_version: node.from.version.clone(),
        new_image: node.to.install_image.clone(),
        new_schematic: node.to.schematic_id.clone(),
        original_config: backup_path(cluster_dir, &node.node),
    }
}

/// The runbook text: per node, how to look, how to undo with this project's tools, and how
/// to undo by hand with talosctl.
pub fn runbook(cluster_dir: &Path, plan: &Plan, records: &[InstallerRecord]) -> String {
    let artifacts = cluster_dir.parent().unwrap_or(cluster_dir).display();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Runbook: {} rollout on cluster {}\n",
        plan.profile, plan.cluster
    );
    let _ = writeln!(
        text,
        "Generated before the first node was changed. `TALOSCONFIG` must point at this cluster's talosconfig.\n\
         Artifacts: `{artifacts}`. Target schematic(s): see `schematic-id.txt`; original and new installers: `installers.json`.\n"
    );
    let _ = writeln!(text, "## Whole rollout\n\n```sh");
    let _ = writeln!(
        text,
        "cargo run --example status -- --talosconfig \"$TALOSCONFIG\""
    );
    let _ = writeln!(
        text,
        "cargo run --example full-rollout -- --talosconfig \"$TALOSCONFIG\" --artifacts {artifacts} --resume"
    );
    let _ = writeln!(
        text,
        "cargo run --example rollback -- --talosconfig \"$TALOSCONFIG\" --artifacts {artifacts}"
    );
    let _ = writeln!(
        text,
        "cargo run --example gitops -- --check <repository> --talosconfig \"$TALOSCONFIG\"\n```\n"
    );
    for (node, record) in plan.nodes.iter().zip(records) {
        node_section(&mut text, &artifacts.to_string(), node, record);
    }
    text
}

fn node_section(text: &mut String, artifacts: &str, node: &NodePlan, record: &InstallerRecord) {
    let address = &node.node;
    let service = node.extension.service();
    let _ = writeln!(text, "## {} ({address})\n", node.nodename);
    let _ = writeln!(
        text,
        "- original: `{}` (schematic {}, {})\n- new: `{}`\n- original machine config: `{}`\n",
        record.original_image.as_deref().unwrap_or("unknown"),
        record.original_schematic.as_deref().unwrap_or("none"),
        record.original_version,
        record.new_image.as_deref().unwrap_or("unchanged"),
        record.original_config.display()
    );
    let _ = writeln!(text, "Look:\n\n```sh");
    let _ = writeln!(text, "talosctl -n {address} version");
    let _ = writeln!(text, "talosctl -n {address} get extensions");
    if let Some(service) = &service {
        let _ = writeln!(text, "talosctl -n {address} get extensionserviceconfigs");
        let _ = writeln!(text, "talosctl -n {address} service {service}");
        let _ = writeln!(text, "talosctl -n {address} logs {service}");
    }
    let _ = writeln!(
        text,
        "```\n\nRoll back with this project (restores the config, boots the original image):\n\n```sh"
    );
    let _ = writeln!(
        text,
        "cargo run --example rollback -- --talosconfig \"$TALOSCONFIG\" --artifacts {artifacts} --node {address}"
    );
    let _ = writeln!(text, "```\n\nRoll back by hand:\n\n```sh");
    let _ = writeln!(
        text,
        "talosctl -n {address} apply-config --file {} --mode no-reboot",
        record.original_config.display()
    );
    let _ = writeln!(
        text,
        "talosctl -n {address} rollback   # boots the previous boot entry, if the new image was booted"
    );
    if let Some(image) = &record.original_image {
        let _ = writeln!(
            text,
            "talosctl -n {address} upgrade --image {image}   # otherwise: reinstall the original image"
        );
    }
    let _ = writeln!(text, "```\n");
}
