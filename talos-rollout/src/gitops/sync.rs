//! Bringing a talhelper repository in step with a rollout: patch files first, then the
//! talconfig and talenv edits, then a re-read that proves the repository declares the
//! targets. A second run with the same targets changes nothing.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use rollout_core::Plan;
use rollout_core::machine::{Phase, Summary};

use super::expected::{expectations, with_v};
use super::patch_file::{self, Secrets};
use super::repository::{Repository, Snapshot, reference_name};
use super::talconfig::{self, EscEntry, NodeChange};
use super::talenv;
use super::target::NodeTarget;
use crate::Error;
use crate::patch_store::PatchStore;
use crate::profile::SecretValue;

/// How the repository is written.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Env references (default) or plaintext secrets.
    pub secrets: Secrets,
    /// Secrets the profile writes into config files (see
    /// [`ExtensionProfile::secret_values`](crate::profile::ExtensionProfile::secret_values)),
    /// referenced by their variable unless secrets are inline.
    pub file_secrets: Vec<SecretValue>,
    /// Directory of the per-node patch files, relative to `talconfig.yaml` (default `patches`).
    pub patch_dir: String,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            secrets: Secrets::EnvReferences,
            file_secrets: Vec::new(),
            patch_dir: "patches".to_owned(),
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Files written (empty when the repository was already in step).
    pub changed: Vec<PathBuf>,
    /// Env variables the repository now references; define them in `talenv.sops.yaml`.
    pub env_references: BTreeSet<String>,
    /// Nodes of the rollout that talconfig does not list.
    pub unmatched: Vec<String>,
    /// What the person should check or do by hand.
    pub notes: Vec<String>,
}

/// Writes the targets into the repository.
///
/// # Errors
/// [`Error::Repository`] when the repository cannot be read or a change cannot be made
/// safely — then nothing is written: every edit is made and verified before the first
/// file is written; [`Error::Io`] when a file cannot be written.
pub fn sync(
    repo: &Repository,
    targets: &[NodeTarget],
    options: &SyncOptions,
) -> crate::Result<SyncReport> {
    let snapshot = repo.load()?;
    let declared = expectations(repo, &snapshot)?;
    let config_path = repo.talconfig_path();
    let mut report = SyncReport::default();
    let mut changes = Vec::new();
    let mut patch_files = Vec::new();
    for target in targets {
        let Some(index) = declared
            .iter()
            .position(|e| e.describes(&target.node, &target.nodename))
        else {
            report.unmatched.push(target.node.clone());
            continue;
        };
        let hostname = &declared[index].hostname;
        let esc = match &target.esc {
            None => None,
            Some(esc) => {
                let (esc, referenced) =
                    patch_file::for_repository(esc, options.secrets, &options.file_secrets);
                report.env_references.extend(referenced);
                let reference = patch_file::reference(&options.patch_dir, hostname, &esc.name);
                if talconfig::esc_uses_service(
                    &config_path,
                    &snapshot.config,
                    index,
                    &esc.name,
                    &reference,
                )? {
                    if options.secrets == Secrets::Inline {
                        report.notes.push(format!(
                            "{hostname}: talconfig.yaml holds the {} secrets in plaintext",
                            esc.name
                        ));
                    }
                    Some(EscEntry::Service(esc))
                } else {
                    let path = repo.resolve(&reference);
                    patch_file::render(&path, &esc)?;
                    patch_files.push((path, esc));
                    Some(EscEntry::Patch(reference))
                }
            }
        };
        changes.push(NodeChange { index, target, esc });
    }
    let version = single_version(targets);
    let mut talconfig_version = None;
    let mut talenv_text = None;
    if let Some(version) = &version {
        match version_home(&snapshot.config) {
            VersionHome::Talenv(name) => {
                talenv_text = talenv_version(repo, &snapshot, &name, version, &mut report)?;
            }
            VersionHome::Talconfig => talconfig_version = Some(version.as_str()),
            VersionHome::Unset => report.notes.push(format!(
                "talconfig.yaml sets no talosVersion, so talhelper uses its built-in default; set talosVersion: {version}"
            )),
        }
    }
    let updated = talconfig::update(
        &config_path,
        &snapshot.talconfig,
        &snapshot.config,
        &changes,
        talconfig_version,
    )?;
    report.notes.extend(updated.notes);
    for (path, esc) in patch_files {
        if patch_file::write(&path, &esc)? {
            report.changed.push(path);
        }
    }
    if let Some(text) = talenv_text {
        let path = repo.talenv_path();
        write_in_place(&path, &text)?;
        report.changed.push(path);
    }
    if updated.text != snapshot.talconfig {
        write_in_place(&config_path, &updated.text)?;
        report.changed.push(config_path);
    }
    report.notes.extend(schematic_notes(repo, targets)?);
    Ok(report)
}

/// After a rollout: writes the targets of the nodes that ended Done (configs read back from
/// the rollout's patches) into the repository.
///
/// # Errors
/// As [`sync`]; [`Error::Journal`] when the rollout's patches cannot be read back.
pub fn sync_after_rollout(
    repo: &Repository,
    store: &PatchStore,
    plan: &Plan,
    summary: &Summary,
    options: &SyncOptions,
) -> crate::Result<SyncReport> {
    let configs = store.read_configs(plan)?;
    let done: HashSet<&str> = summary
        .nodes
        .iter()
        .filter(|(_, phase)| *phase == Phase::Done)
        .map(|(node, _)| node.as_str())
        .collect();
    let targets = NodeTarget::from_plan(plan, &configs, |node| done.contains(node));
    sync(repo, &targets, options)
}

/// talenv.yaml with `name` (the variable talconfig's `talosVersion` refers to) set to
/// `version`; `None` when nothing is to be written.
fn talenv_version(
    repo: &Repository,
    snapshot: &Snapshot,
    name: &str,
    version: &str,
    report: &mut SyncReport,
) -> crate::Result<Option<String>> {
    let current = snapshot.env.get(name).map(|value| with_v(value));
    if current.as_deref() == Some(version) {
        return Ok(None); // talhelper adds a missing `v`
    }
    let path = repo.talenv_path();
    let edited = match &snapshot.talenv {
        Some(text) => talenv::set_value(&path, text, name, version)?,
        None => None,
    };
    if edited.is_none() {
        report.notes.push(format!(
            "talosVersion refers to ${{{name}}}, which talenv.yaml does not set; set {name}: {version} where it is defined"
        ));
    }
    Ok(edited)
}

/// The one version all targets share (none when they differ or there are none).
fn single_version(targets: &[NodeTarget]) -> Option<String> {
    let versions: BTreeSet<&str> = targets.iter().map(|t| t.version.as_str()).collect();
    match versions.into_iter().collect::<Vec<_>>()[..] {
        [version] => Some(version.to_owned()),
        _ => None,
    }
}

enum VersionHome {
    Talenv(String),
    Talconfig,
    Unset,
}

fn version_home(config: &serde_yaml_ng::Value) -> VersionHome {
    match config
        .get("talosVersion")
        .and_then(serde_yaml_ng::Value::as_str)
    {
        None => VersionHome::Unset,
        Some(value) => match reference_name(value) {
            Some(name) => VersionHome::Talenv(name.to_owned()),
            None => VersionHome::Talconfig,
        },
    }
}

/// Notes for nodes whose declared schematic does not give the ID the rollout installed.
fn schematic_notes(repo: &Repository, targets: &[NodeTarget]) -> crate::Result<Vec<String>> {
    let snapshot = repo.load()?;
    let declared = expectations(repo, &snapshot)?;
    Ok(targets
        .iter()
        .filter_map(|target| {
            let expectation = declared.iter().find(|e| e.describes(&target.node, &target.nodename))?;
            (expectation.schematic_id.is_some() && expectation.schematic_id != target.schematic_id).then(|| {
                format!(
                    "{}: the repository's schematic gives ID {}, the node was rolled to {}; compare its schematic (kernel args, overlays) with the recorded one",
                    expectation.hostname,
                    expectation.schematic_id.as_deref().unwrap_or("-"),
                    target.schematic_id.as_deref().unwrap_or("-")
                )
            })
        })
        .collect())
}

/// Replaces a file's contents, keeping its permissions (talconfig and talenv are tracked
/// files, not secrets).
fn write_in_place(path: &Path, text: &str) -> crate::Result<()> {
    std::fs::write(path, text).map_err(|error| Error::io("write", path, error))
}
