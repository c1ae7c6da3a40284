//! What the repository says each node runs, read the way talhelper reads it: a node value
//! replaces its group's (`controlPlane:` / `worker:`), `patches` are combined, and
//! `talosImageURL` wins over `schematic`.

use std::collections::BTreeMap;

use factory_client::Schematic;
use rollout_core::ExtensionServiceConfig;
use rollout_core::esc::EscConfigFile;
use serde::Deserialize as _;
use serde_yaml_ng::Value;

use super::repository::{Repository, Snapshot, nodes};
use crate::Error;

/// Where a setting lives in talconfig.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Scope {
    /// `nodes[index]`.
    Node(usize),
    /// A node group: `controlPlane` or `worker`.
    Group(&'static str),
}

/// How a node's installer image is chosen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ImageSource {
    /// `talosImageURL` (without tag), and where it is set.
    Url(Scope, String),
    /// A `schematic:` block, and where it is set.
    Schematic(Scope, Value),
    /// Neither: the vanilla installer.
    Vanilla,
}

/// What the repository declares for one node.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// `nodes[].hostname`.
    pub hostname: String,
    /// `nodes[].ipAddress`, split at commas.
    pub addresses: Vec<String>,
    /// `nodes[].controlPlane`.
    pub control_plane: bool,
    /// `talosVersion` after talenv substitution (`None`: unset or not resolvable here).
    pub version: Option<String>,
    /// The schematic ID the installer carries (`None`: a `talosImageURL` without an ID).
    pub schematic_id: Option<String>,
    /// `ExtensionServiceConfig` documents from patches and `extensionServices`, by name.
    pub escs: BTreeMap<String, ExtensionServiceConfig>,
}

impl Expectation {
    /// True when this entry describes the node the Talos API reaches as `node` (an address
    /// or hostname) whose Kubernetes name is `nodename`.
    pub fn describes(&self, node: &str, nodename: &str) -> bool {
        self.addresses.iter().any(|address| address == node)
            || self.hostname == node
            || self.hostname == nodename
    }
}

/// Every node's expectation, in talconfig order.
///
/// # Errors
/// [`Error::Repository`] for a referenced patch file that is missing or not YAML, an
/// `ExtensionServiceConfig` or `extensionServices` entry of the wrong shape, or a
/// `schematic:` the Image Factory would refuse.
pub fn expectations(repo: &Repository, snapshot: &Snapshot) -> crate::Result<Vec<Expectation>> {
    (0..snapshot.node_count())
        .map(|index| expectation(repo, snapshot, index))
        .collect()
}

fn expectation(repo: &Repository, snapshot: &Snapshot, index: usize) -> crate::Result<Expectation> {
    let config = &snapshot.config;
    let node = &nodes(config)[index];
    let text = |key: &str| node.get(key).and_then(Value::as_str).unwrap_or_default();
    let version = config
        .get("talosVersion")
        .and_then(Value::as_str)
        .and_then(|value| snapshot.substitute(value))
        .map(|version| with_v(&version));
    let schematic_id = match image_source(config, index) {
        ImageSource::Url(_, url) => snapshot
            .substitute(&url)
            .and_then(|url| url_schematic_id(&url)),
        ImageSource::Schematic(_, value) => Some(schematic_id(repo, &value)?),
        ImageSource::Vanilla => Some(Schematic::builder().build().id().to_string()),
    };
    Ok(Expectation {
        hostname: text("hostname").to_owned(),
        addresses: text("ipAddress")
            .split(',')
            .map(|a| a.trim().to_owned())
            .collect(),
        control_plane: is_control_plane(node),
        version,
        schematic_id,
        escs: escs(repo, config, index)?,
    })
}

/// `v1.10.4` for `1.10.4` (talhelper adds a missing `v`).
pub(crate) fn with_v(version: &str) -> String {
    if version.starts_with('v') {
        version.to_owned()
    } else {
        format!("v{version}")
    }
}

pub(crate) fn is_control_plane(node: &Value) -> bool {
    node.get("controlPlane")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The group a node belongs to.
pub(crate) fn group_of(config: &Value, index: usize) -> &'static str {
    if nodes(config).get(index).is_some_and(is_control_plane) {
        "controlPlane"
    } else {
        "worker"
    }
}

/// The value of `key` for node `index`: the node's own when set and not empty, else its
/// group's (talhelper's merge rule).
pub(crate) fn effective<'a>(
    config: &'a Value,
    index: usize,
    key: &str,
) -> Option<(Scope, &'a Value)> {
    let set = |value: &&Value| !is_empty(value);
    if let Some(value) = nodes(config)
        .get(index)
        .and_then(|node| node.get(key))
        .filter(set)
    {
        return Some((Scope::Node(index), value));
    }
    let group = group_of(config, index);
    config
        .get(group)
        .and_then(|settings| settings.get(key))
        .filter(set)
        .map(|value| (Scope::Group(group), value))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Sequence(items) => items.is_empty(),
        Value::Mapping(entries) => entries.is_empty(),
        _ => false,
    }
}

pub(crate) fn image_source(config: &Value, index: usize) -> ImageSource {
    if let Some((scope, Value::String(url))) = effective(config, index, "talosImageURL") {
        return ImageSource::Url(scope, url.clone());
    }
    match effective(config, index, "schematic") {
        Some((scope, value)) => ImageSource::Schematic(scope, value.clone()),
        None => ImageSource::Vanilla,
    }
}

/// The schematic ID at the end of a `talosImageURL` (`factory.talos.dev/installer/<id>`).
pub(crate) fn url_schematic_id(url: &str) -> Option<String> {
    let last = url.rsplit('/').next()?;
    let is_id = last.len() == 64 && last.chars().all(|c| c.is_ascii_hexdigit());
    is_id.then(|| last.to_ascii_lowercase())
}

/// The ID the Image Factory gives a `schematic:` block (computed offline).
pub(crate) fn schematic_id(repo: &Repository, value: &Value) -> crate::Result<String> {
    let invalid = |reason: String| Error::repository(repo.talconfig_path(), reason);
    let text = serde_yaml_ng::to_string(value).map_err(|error| invalid(error.to_string()))?;
    let schematic = Schematic::from_yaml(&text)
        .map_err(|error| invalid(format!("a schematic: block is refused: {error}")))?;
    Ok(schematic.id().to_string())
}

/// The official extensions a `schematic:` block lists.
pub(crate) fn schematic_extensions(value: &Value) -> Vec<String> {
    value
        .get("customization")
        .and_then(|c| c.get("systemExtensions"))
        .and_then(|s| s.get("officialExtensions"))
        .and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn escs(
    repo: &Repository,
    config: &Value,
    index: usize,
) -> crate::Result<BTreeMap<String, ExtensionServiceConfig>> {
    let mut found = BTreeMap::new();
    for patch in patches(config, index) {
        let text = if patch.starts_with('@') {
            repo.read_reference(patch)?
        } else {
            patch.to_owned()
        };
        for esc in patch_escs(repo, patch, &text)? {
            found.insert(esc.name.clone(), esc);
        }
    }
    if let Some((_, Value::Sequence(entries))) = effective(config, index, "extensionServices") {
        for entry in entries {
            let esc = extension_service(entry).ok_or_else(|| {
                Error::repository(
                    repo.talconfig_path(),
                    "an extensionServices entry needs name, and configFiles (content, mountPath) or environment (KEY=value)",
                )
            })?;
            found.insert(esc.name.clone(), esc);
        }
    }
    Ok(found)
}

/// Every patch that reaches node `index`: global, group, then the node's own.
pub(crate) fn patches(config: &Value, index: usize) -> Vec<&str> {
    let group = group_of(config, index);
    [
        config.get("patches"),
        config.get(group).and_then(|g| g.get("patches")),
        nodes(config)
            .get(index)
            .and_then(|node| node.get("patches")),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_sequence)
    .flatten()
    .filter_map(Value::as_str)
    .collect()
}

/// The `ExtensionServiceConfig` documents of one patch (file or inline).
fn patch_escs(
    repo: &Repository,
    patch: &str,
    text: &str,
) -> crate::Result<Vec<ExtensionServiceConfig>> {
    let path = if patch.starts_with('@') {
        repo.resolve(patch)
    } else {
        repo.talconfig_path()
    };
    let invalid = |reason: String| Error::repository(&path, reason);
    let mut found = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let value = Value::deserialize(document)
            .map_err(|error| invalid(format!("a patch is not valid YAML ({error})")))?;
        if value.get("kind").and_then(Value::as_str) != Some(ExtensionServiceConfig::KIND) {
            continue;
        }
        let yaml = serde_yaml_ng::to_string(&value).map_err(|error| invalid(error.to_string()))?;
        let esc = ExtensionServiceConfig::from_yaml(&yaml).map_err(|error| {
            invalid(format!("{error}; fix the ExtensionServiceConfig document"))
        })?;
        found.push(esc);
    }
    Ok(found)
}

/// One talhelper `extensionServices` entry as the document it becomes.
pub(crate) fn extension_service(entry: &Value) -> Option<ExtensionServiceConfig> {
    let name = entry.get("name")?.as_str()?.to_owned();
    let config_files = match entry.get("configFiles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(files)) => files
            .iter()
            .map(|file| {
                Some(EscConfigFile {
                    content: file.get("content")?.as_str()?.to_owned(),
                    mount_path: file.get("mountPath")?.as_str()?.to_owned(),
                })
            })
            .collect::<Option<_>>()?,
        Some(_) => return None,
    };
    let environment = match entry.get("environment") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<_>>()?,
        Some(_) => return None,
    };
    Some(ExtensionServiceConfig {
        name,
        config_files,
        environment,
    })
}
