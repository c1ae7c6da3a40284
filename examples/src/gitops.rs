//! What the tools share for GitOps: the `--gitops DIR` / `--inline-secret` flags and the
//! text of a sync report and a drift report (the work is `talos_rollout::gitops`).

use std::path::PathBuf;

use talos_rollout::gitops::{DriftReport, Secrets, SyncOptions, SyncReport};
use talos_rollout::profile::ExtensionProfile;

use crate::output::table;

/// The flags that keep a talhelper repository in step with a rollout.
#[derive(Debug, Clone, clap::Args)]
pub struct GitopsArgs {
    /// talhelper repository to update after the rollout (its root, or the directory holding
    /// talconfig.yaml). With the embedded sim, an empty or missing DIR first gets the sim's
    /// sample repository.
    #[arg(long, value_name = "DIR", help_heading = "GitOps")]
    pub gitops: Option<PathBuf>,
    /// Write secrets (the auth key, a password in a config file) into the repository in
    /// plaintext instead of as `${TS_AUTHKEY}`-style references to talhelper's env files.
    #[arg(long, requires = "gitops", help_heading = "GitOps")]
    pub inline_secret: bool,
    /// Directory of the per-node patch files, relative to talconfig.yaml
    /// (`<dir>/<node>/<extension>-extension.yaml`).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "patches",
        requires = "gitops",
        help_heading = "GitOps"
    )]
    pub gitops_patch_dir: String,
}

impl GitopsArgs {
    /// The library's options for these flags, for a rollout of `profile`.
    pub fn options(&self, profile: &dyn ExtensionProfile) -> SyncOptions {
        SyncOptions {
            file_secrets: profile.secret_values(),
            secrets: if self.inline_secret {
                Secrets::Inline
            } else {
                Secrets::EnvReferences
            },
            patch_dir: self.gitops_patch_dir.clone(),
        }
    }
}

/// A sync report as text.
pub fn render_sync(report: &SyncReport) -> String {
    let mut text = if report.changed.is_empty() {
        "repository already in step; nothing written\n".to_owned()
    } else {
        let files: Vec<String> = report
            .changed
            .iter()
            .map(|p| format!("  {}\n", p.display()))
            .collect();
        format!("repository updated:\n{}", files.concat())
    };
    for variable in &report.env_references {
        text.push_str(&format!(
            "define {variable} in talos/talenv.sops.yaml (sops-encrypted) before talhelper genconfig\n"
        ));
    }
    for node in &report.unmatched {
        text.push_str(&format!(
            "node {node} is not listed in talconfig.yaml; add it by hand\n"
        ));
    }
    for note in &report.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    text
}

/// A drift report as text: one row per difference, or one line when in step.
pub fn render_drift(report: &DriftReport) -> String {
    if report.in_step() {
        return format!("repository in step with all {} nodes\n", report.nodes.len());
    }
    let rows: Vec<Vec<String>> = report
        .nodes
        .iter()
        .flat_map(|node| {
            node.differences.iter().map(|difference| {
                vec![
                    node.node.clone(),
                    node.hostname.clone().unwrap_or_else(|| "-".to_owned()),
                    difference.field.clone(),
                    difference.repository.clone(),
                    difference.live.clone(),
                ]
            })
        })
        .collect();
    format!(
        "{}drift: the repository and the cluster differ; run full-rollout --gitops DIR, or edit the repository\n",
        table(&["NODE", "HOSTNAME", "FIELD", "REPOSITORY", "LIVE"], &rows)
    )
}
