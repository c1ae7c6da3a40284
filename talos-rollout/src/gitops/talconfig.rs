//! Editing `talconfig.yaml` with minimal text splices: the installer (`talosImageURL` or
//! the `schematic:` block), the node's patch reference or `extensionServices` entry, and a
//! literal `talosVersion`. Every other byte stays as it was; the result is re-parsed and
//! must equal the original with only the owned values changed.

use std::collections::HashSet;
use std::path::Path;

use rollout_core::ExtensionServiceConfig;
use sdk_support::yaml_text::TScalarStyle;
use sdk_support::yaml_text::edit::{self, Edit, block_end_line, in_style_of, insert_after_line};
use sdk_support::yaml_text::tree::{self, Node, Scalar};
use serde_yaml_ng::Value;

use super::expected::{
    ImageSource, Scope, effective, extension_service, group_of, image_source, patches,
    schematic_extensions, url_schematic_id, with_v,
};
use super::repository::nodes;
use super::target::NodeTarget;
use crate::Error;

/// Indentation added for a nested level the file gives no example of.
const STEP: usize = 2;

/// How a node's `ExtensionServiceConfig` reaches talhelper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EscEntry {
    /// An `@./...` reference in the node's `patches`.
    Patch(String),
    /// An entry of the node's `extensionServices`.
    Service(ExtensionServiceConfig),
}

/// What to change for one node.
#[derive(Debug, Clone)]
pub(crate) struct NodeChange<'a> {
    /// Index in `nodes`.
    pub(crate) index: usize,
    /// The state to declare.
    pub(crate) target: &'a NodeTarget,
    /// The config entry to declare, if the node has one.
    pub(crate) esc: Option<EscEntry>,
}

/// Chooses how node `index` declares the config `name`: the style it already uses, else
/// `extensionServices` when the file uses that field anywhere, else a patch reference.
///
/// # Errors
/// [`Error::Repository`] when the node already declares it both ways.
pub(crate) fn esc_uses_service(
    path: &Path,
    config: &Value,
    index: usize,
    name: &str,
    reference: &str,
) -> crate::Result<bool> {
    let has_patch = patches(config, index).contains(&reference);
    let has_service = matches!(effective(config, index, "extensionServices"),
        Some((_, Value::Sequence(entries))) if entries.iter().any(|e| e.get("name").and_then(Value::as_str) == Some(name)));
    if has_patch && has_service {
        return Err(Error::repository(
            path,
            format!(
                "node {} declares {name} both in patches and in extensionServices; remove one, then run again",
                hostname(config, index)
            ),
        ));
    }
    if has_patch || has_service {
        return Ok(has_service);
    }
    Ok(uses_anywhere(config, "extensionServices"))
}

/// True when a node or a group sets `key`.
pub(crate) fn uses_anywhere(config: &Value, key: &str) -> bool {
    let in_nodes = nodes(config).iter().any(|node| node.get(key).is_some());
    let in_groups = ["controlPlane", "worker"]
        .iter()
        .any(|group| config.get(*group).and_then(|g| g.get(key)).is_some());
    in_nodes || in_groups
}

fn hostname(config: &Value, index: usize) -> &str {
    nodes(config)
        .get(index)
        .and_then(|node| node.get("hostname"))
        .and_then(Value::as_str)
        .unwrap_or("?")
}

/// The edited talconfig text and what the person should know.
#[derive(Debug, Clone, Default)]
pub(crate) struct Updated {
    pub(crate) text: String,
    pub(crate) notes: Vec<String>,
}

/// Applies `changes` (and `version`, when talconfig holds it literally) to `text`.
///
/// # Errors
/// [`Error::Repository`] for a layout this editor does not change safely (flow style,
/// values in variables, group settings that would need different values per node), or
/// when the re-parsed result differs anywhere else.
pub(crate) fn update(
    path: &Path,
    text: &str,
    config: &Value,
    changes: &[NodeChange<'_>],
    version: Option<&str>,
) -> crate::Result<Updated> {
    let unsupported = |reason: String| Error::repository(path, reason);
    let root = tree::parse(text)
        .map_err(|error| unsupported(format!("it cannot be read for editing: {error}")))?
        .ok_or_else(|| unsupported("it is empty".to_owned()))?;
    let mut editor = Editor {
        text,
        eol: edit::line_ending(text),
        edits: Vec::new(),
        inserted: HashSet::new(),
        notes: Vec::new(),
        path,
    };
    for change in changes {
        editor.image(&root, config, change)?;
        if let Some(esc) = &change.esc {
            editor.esc(&root, config, change.index, esc)?;
        }
    }
    if let Some(version) = version {
        editor.version(&root, version)?;
    }
    let edited = edit::apply_all(text, &editor.edits);
    verify(path, config, &edited, changes, version)?;
    Ok(Updated {
        text: edited,
        notes: editor.notes,
    })
}

struct Editor<'a> {
    text: &'a str,
    eol: &'static str,
    edits: Vec<Edit>,
    /// Inserts already made, by offset and text.
    inserted: HashSet<(usize, String)>,
    notes: Vec<String>,
    path: &'a Path,
}

/// A block mapping in the tree and what is needed to add a key to it.
struct Block<'t> {
    node: &'t Node,
    /// Line where the block starts (its key, or its first key for a sequence item).
    line: usize,
    /// Column of what owns the block (its key, or the item's `-`).
    owner_column: usize,
}

impl Editor<'_> {
    fn fail(&self, reason: String) -> Error {
        Error::repository(self.path, reason)
    }

    /// Adds an edit; inserts at the same place are joined, equal replacements kept once.
    fn push(&mut self, new: Edit) -> crate::Result<()> {
        if new.range.is_empty() && !self.inserted.insert((new.range.start, new.text.clone())) {
            return Ok(()); // the same lines at the same place: a group setting shared by nodes
        }
        if let Some(existing) = self.edits.iter_mut().find(|e| e.range == new.range) {
            if new.range.is_empty() {
                existing.text.push_str(&new.text);
                return Ok(());
            }
            if existing.text == new.text {
                return Ok(());
            }
            return Err(self.fail(
                "nodes of one group need different values for a setting they share; give each node its own, then run again".to_owned(),
            ));
        }
        self.edits.push(new);
        Ok(())
    }

    fn image(&mut self, root: &Node, config: &Value, change: &NodeChange<'_>) -> crate::Result<()> {
        let target = change.target;
        match image_source(config, change.index) {
            ImageSource::Url(scope, url) => {
                if url.contains('$') {
                    self.notes.push(format!(
                        "{}: talosImageURL is a variable ({url}); set it to the new schematic where it is defined",
                        target.nodename
                    ));
                    return Ok(());
                }
                let Some(new_url) = new_image_url(&url, target) else {
                    return Ok(());
                };
                if new_url == url {
                    return Ok(());
                }
                let block = self.block(root, scope)?;
                let scalar = scalar_entry(block.node, "talosImageURL")
                    .ok_or_else(|| self.fail("talosImageURL is not a plain value".to_owned()))?;
                self.replace_scalar(scalar, &new_url)
            }
            ImageSource::Schematic(scope, value) => {
                let listed = schematic_extensions(&value);
                let missing: Vec<String> = target
                    .extensions
                    .iter()
                    .filter(|extension| !listed.contains(extension))
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    return Ok(());
                }
                let block = self.block(root, scope)?;
                let path = [
                    "schematic",
                    "customization",
                    "systemExtensions",
                    "officialExtensions",
                ];
                self.add_items(&block, &path, &missing)
            }
            ImageSource::Vanilla => {
                let block = self.block(root, Scope::Node(change.index))?;
                if uses_anywhere(config, "schematic") && !uses_anywhere(config, "talosImageURL") {
                    let path = [
                        "schematic",
                        "customization",
                        "systemExtensions",
                        "officialExtensions",
                    ];
                    return self.add_items(&block, &path, &target.extensions);
                }
                let Some(image) = &target.install_image else {
                    return Ok(());
                };
                let url = without_tag(image);
                let url = scalar(url).map_err(|error| self.fail(error))?;
                self.add_lines(&block, &[format!("talosImageURL: {url}")])
            }
        }
    }

    fn esc(
        &mut self,
        root: &Node,
        config: &Value,
        index: usize,
        esc: &EscEntry,
    ) -> crate::Result<()> {
        let block = self.block(root, Scope::Node(index))?;
        match esc {
            EscEntry::Patch(reference) => {
                if patches(config, index).contains(&reference.as_str()) {
                    return Ok(());
                }
                let style = match block.node.entry("patches") {
                    Some((_, Node::Sequence { items, .. })) => {
                        items.first().and_then(Node::as_scalar).map(|s| s.style)
                    }
                    _ => None,
                };
                let item = match style {
                    Some(TScalarStyle::SingleQuoted) => format!("'{reference}'"),
                    _ => format!("\"{reference}\""),
                };
                self.add_items(&block, &["patches"], &[item])
            }
            EscEntry::Service(service) => self.service(config, index, &block, service),
        }
    }

    fn service(
        &mut self,
        config: &Value,
        index: usize,
        block: &Block<'_>,
        service: &ExtensionServiceConfig,
    ) -> crate::Result<()> {
        let own = nodes(config)[index].get("extensionServices");
        let inherited = own.is_none() && effective(config, index, "extensionServices").is_some();
        if inherited {
            return Err(self.fail(format!(
                "node {} inherits extensionServices from {}; a node list would replace it, so give the node its own list (or move {} into patches), then run again",
                hostname(config, index), group_of(config, index), service.name
            )));
        }
        let lines = service_lines(service).map_err(|error| self.fail(error))?;
        let existing = own.and_then(Value::as_sequence).and_then(|entries| {
            entries
                .iter()
                .position(|e| e.get("name").and_then(Value::as_str) == Some(service.name.as_str()))
        });
        let Some(position) = existing else {
            return self.add_block_items(block, "extensionServices", &[lines]);
        };
        if own
            .and_then(Value::as_sequence)
            .and_then(|entries| entries.get(position))
            .and_then(extension_service)
            .as_ref()
            == Some(service)
        {
            return Ok(());
        }
        let Some((
            _,
            Node::Sequence {
                items,
                column,
                flow: false,
                ..
            },
        )) = block.node.entry("extensionServices")
        else {
            return Err(self.fail(
                "extensionServices is written in flow style; rewrite it as a block list".to_owned(),
            ));
        };
        let first = items
            .get(position)
            .and_then(Node::first_line)
            .ok_or_else(|| self.fail("an extensionServices entry is empty".to_owned()))?;
        let last = block_end_line(self.text, first, *column, false);
        let range = edit::line_start(self.text, first)..edit::line_start(self.text, last + 1);
        let text = item_text(&lines, *column, self.eol);
        self.push(Edit::replace(range, text))
    }

    fn version(&mut self, root: &Node, version: &str) -> crate::Result<()> {
        let Some(scalar) = scalar_entry(root, "talosVersion") else {
            return Ok(());
        };
        if with_v(&scalar.value) == with_v(version) || scalar.value.contains('$') {
            return Ok(());
        }
        self.replace_scalar(scalar, version)
    }

    fn replace_scalar(&mut self, scalar: &Scalar, value: &str) -> crate::Result<()> {
        let end = edit::scalar_end(self.text, scalar);
        let written = in_style_of(scalar, value);
        let (Some(end), Some(written)) = (end, written) else {
            return Err(self.fail(format!(
                "the value {} is written in a style this editor does not change; edit it by hand",
                scalar.value
            )));
        };
        self.push(Edit::replace(scalar.start..end, written))
    }

    /// The block mapping of a node or group.
    fn block<'t>(&self, root: &'t Node, scope: Scope) -> crate::Result<Block<'t>> {
        let found = match scope {
            Scope::Node(index) => match root.entry("nodes") {
                Some((
                    _,
                    Node::Sequence {
                        items,
                        column,
                        flow: false,
                        ..
                    },
                )) => items.get(index).and_then(|node| {
                    Some(Block {
                        node,
                        line: node.first_line()?,
                        owner_column: *column,
                    })
                }),
                _ => None,
            },
            Scope::Group(group) => root.entry(group).map(|(key, node)| Block {
                node,
                line: key.line,
                owner_column: key.column,
            }),
        };
        match found {
            Some(block) if matches!(block.node, Node::Mapping { flow: false, .. }) => Ok(block),
            _ => Err(self.fail(
                "nodes and node groups must be block mappings in a block list for this editor"
                    .to_owned(),
            )),
        }
    }

    /// Ensures the block sequence at `path` under `block` lists `items` (written as given),
    /// creating the missing mappings and the sequence.
    fn add_items(
        &mut self,
        block: &Block<'_>,
        path: &[&str],
        items: &[String],
    ) -> crate::Result<()> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(());
        };
        let Some((key, value)) = block.node.entry(first) else {
            let lines = nested_lines(path, items);
            return self.add_lines(block, &lines);
        };
        if rest.is_empty() {
            let Node::Sequence {
                flow: false,
                items: present,
                column,
                ..
            } = value
            else {
                return Err(self.fail(format!(
                    "{first} must be a block list for this editor; rewrite it as one"
                )));
            };
            let last_item = present
                .last()
                .and_then(Node::first_line)
                .unwrap_or(key.line);
            let last = block_end_line(self.text, last_item, *column, false);
            let text: String = items
                .iter()
                .map(|item| format!("{}- {item}{}", " ".repeat(*column), self.eol))
                .collect();
            let edit = insert_after_line(self.text, last, text, self.eol);
            return self.push(edit);
        }
        if !matches!(value, Node::Mapping { flow: false, .. }) {
            return Err(self.fail(format!("{first} must be a block mapping for this editor")));
        }
        let inner = Block {
            node: value,
            line: key.line,
            owner_column: key.column,
        };
        self.add_items(&inner, rest, items)
    }

    /// Appends one item (given as lines of a mapping) to the block sequence `key`.
    fn add_block_items(
        &mut self,
        block: &Block<'_>,
        key: &str,
        entries: &[Vec<String>],
    ) -> crate::Result<()> {
        match block.node.entry(key) {
            None => {
                let mut lines = vec![format!("{key}:")];
                for entry in entries {
                    lines.extend(item_lines(entry, STEP));
                }
                self.add_lines(block, &lines)
            }
            Some((
                _,
                Node::Sequence {
                    flow: false,
                    items,
                    column,
                    ..
                },
            )) => {
                let Some(first) = items.last().and_then(Node::first_line) else {
                    return Err(self.fail(format!(
                        "{key} is empty; remove the empty key, then run again"
                    )));
                };
                let last = block_end_line(self.text, first, *column, false);
                let text: String = entries
                    .iter()
                    .map(|entry| item_text(entry, *column, self.eol))
                    .collect();
                let edit = insert_after_line(self.text, last, text, self.eol);
                self.push(edit)
            }
            Some(_) => Err(self.fail(format!("{key} must be a block list for this editor"))),
        }
    }

    /// Appends `lines` (relative indentation) as new keys at the end of `block`.
    fn add_lines(&mut self, block: &Block<'_>, lines: &[String]) -> crate::Result<()> {
        let indent = block
            .node
            .first_key()
            .map_or(block.owner_column + STEP, |key| key.column);
        let last = block_end_line(self.text, block.line, block.owner_column, false);
        let text: String = lines
            .iter()
            .map(|line| format!("{}{line}{}", " ".repeat(indent), self.eol))
            .collect();
        let edit = insert_after_line(self.text, last, text, self.eol);
        self.push(edit)
    }
}

/// The scalar value of `key` in a block mapping.
fn scalar_entry<'t>(mapping: &'t Node, key: &str) -> Option<&'t Scalar> {
    mapping.entry(key).and_then(|(_, value)| value.as_scalar())
}

/// `path` as nested block lines ending in a list of `items`.
fn nested_lines(path: &[&str], items: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    for (depth, key) in path.iter().enumerate() {
        lines.push(format!("{}{key}:", " ".repeat(depth * STEP)));
    }
    let indent = " ".repeat(path.len() * STEP);
    lines.extend(items.iter().map(|item| format!("{indent}- {item}")));
    lines
}

/// A mapping's lines as one sequence item indented by `indent`.
fn item_lines(lines: &[String], indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let marker = if index == 0 { "- " } else { "  " };
            format!("{pad}{marker}{line}")
        })
        .collect()
}

fn item_text(lines: &[String], column: usize, eol: &str) -> String {
    item_lines(lines, column)
        .into_iter()
        .map(|line| format!("{line}{eol}"))
        .collect()
}

/// A talhelper `extensionServices` entry for `esc`, as YAML lines (lists indented under
/// their key, as hand-written talconfigs do).
fn service_lines(esc: &ExtensionServiceConfig) -> Result<Vec<String>, String> {
    let mut lines = vec![format!("name: {}", scalar(&esc.name)?)];
    if !esc.config_files.is_empty() {
        lines.push("configFiles:".to_owned());
        for file in &esc.config_files {
            let content = keyed("content", &file.content)?;
            let mount = keyed("mountPath", &file.mount_path)?;
            let entry: Vec<String> = content.into_iter().chain(mount).collect();
            lines.extend(item_lines(&entry, STEP));
        }
    }
    if !esc.environment.is_empty() {
        lines.push("environment:".to_owned());
        for entry in &esc.environment {
            lines.push(format!("{}- {}", " ".repeat(STEP), scalar(entry)?));
        }
    }
    Ok(lines)
}

/// `key: value` lines; a multi-line value becomes an indented block scalar.
fn keyed(key: &str, value: &str) -> Result<Vec<String>, String> {
    let text = scalar(value)?;
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    Ok(std::iter::once(format!("{key}: {first}"))
        .chain(lines.map(str::to_owned))
        .collect())
}

/// One string as YAML (quoted only when YAML needs it; block style for several lines).
fn scalar(value: &str) -> Result<String, String> {
    serde_yaml_ng::to_string(&Value::from(value))
        .map(|text| text.trim_end_matches('\n').to_owned())
        .map_err(|error| error.to_string())
}

/// The `talosImageURL` that carries the target schematic: the same URL with its ID
/// replaced, or the target installer without its tag.
fn new_image_url(url: &str, target: &NodeTarget) -> Option<String> {
    let id = target.schematic_id.as_deref()?;
    if url_schematic_id(url).is_some() {
        let prefix = url.rsplit_once('/').map_or("", |(prefix, _)| prefix);
        return Some(format!("{prefix}/{id}"));
    }
    target
        .install_image
        .as_deref()
        .map(|image| without_tag(image).to_owned())
}

/// An image reference without its `:tag`.
pub(crate) fn without_tag(image: &str) -> &str {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => image,
    }
}

/// Fails unless `edited` parses to the original with only the owned values changed, and
/// each change landed.
fn verify(
    path: &Path,
    before: &Value,
    edited: &str,
    changes: &[NodeChange<'_>],
    version: Option<&str>,
) -> crate::Result<()> {
    let invalid = |reason: &str| {
        Error::repository(
            path,
            format!("{reason}; nothing was written, report this with the file"),
        )
    };
    let after: Value = serde_yaml_ng::from_str(edited)
        .map_err(|_| invalid("the edit would not leave valid YAML"))?;
    if masked(before, changes) != masked(&after, changes) {
        return Err(invalid("the edit would change other values"));
    }
    for change in changes {
        let landed = match &change.esc {
            Some(EscEntry::Patch(reference)) => {
                patches(&after, change.index).contains(&reference.as_str())
            }
            Some(EscEntry::Service(service)) => {
                matches!(effective(&after, change.index, "extensionServices"),
                Some((_, Value::Sequence(entries))) if entries.iter().filter_map(extension_service).any(|e| e == *service))
            }
            None => true,
        };
        let image_landed = match image_source(&after, change.index) {
            ImageSource::Schematic(_, value) => {
                let listed = schematic_extensions(&value);
                change.target.extensions.iter().all(|e| listed.contains(e))
            }
            ImageSource::Url(_, url) => {
                url.contains('$')
                    || change.target.schematic_id.is_none()
                    || url_schematic_id(&url) == change.target.schematic_id
                    || url
                        == without_tag(change.target.install_image.as_deref().unwrap_or_default())
            }
            ImageSource::Vanilla => change.target.install_image.is_none(),
        };
        if !landed || !image_landed {
            return Err(invalid("an edit did not land where expected"));
        }
    }
    let version_landed = match (version, after.get("talosVersion").and_then(Value::as_str)) {
        (Some(version), Some(written)) => {
            written.contains('$') || with_v(written) == with_v(version)
        }
        _ => true,
    };
    if !version_landed {
        return Err(invalid("talosVersion was not updated"));
    }
    Ok(())
}

/// `config` without the values the edit owns.
fn masked(config: &Value, changes: &[NodeChange<'_>]) -> Value {
    const OWNED: [&str; 4] = ["talosImageURL", "schematic", "patches", "extensionServices"];
    let mut config = config.clone();
    if let Some(root) = config.as_mapping_mut() {
        root.remove("talosVersion");
    }
    for change in changes {
        let group = group_of(&config, change.index);
        if let Some(settings) = config.get_mut(group).and_then(Value::as_mapping_mut) {
            for key in OWNED {
                settings.remove(key);
            }
        }
        if let Some(node) = config
            .get_mut("nodes")
            .and_then(Value::as_sequence_mut)
            .and_then(|nodes| nodes.get_mut(change.index))
            .and_then(Value::as_mapping_mut)
        {
            for key in OWNED {
                node.remove(key);
            }
        }
    }
    config
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rollout_core::esc::EscConfigFile;

    use super::*;

    #[test]
    fn a_service_entry_with_a_multi_line_file_reads_back_as_the_same_document() {
        let esc = ExtensionServiceConfig {
            name: "nut-client".into(),
            config_files: vec![EscConfigFile {
                content: "MONITOR ups@10.0.0.5 1 remote ${UPSMON_PASSWORD} secondary\nSHUTDOWNCMD \"/sbin/poweroff\"\n".into(),
                mount_path: "/usr/local/etc/nut/upsmon.conf".into(),
            }],
            environment: vec!["UPS_NAME=ups".into()],
        };
        let lines = item_lines(&service_lines(&esc).unwrap(), 2);
        let text = format!("extensionServices:\n{}\n", lines.join("\n"));
        let value: Value = serde_yaml_ng::from_str(&text).unwrap();
        let entry = &value["extensionServices"][0];
        assert_eq!(extension_service(entry), Some(esc));
    }

    #[test]
    fn image_urls_keep_their_registry_and_path() {
        let id = "a".repeat(64);
        let target = NodeTarget {
            node: "n".into(),
            nodename: "n".into(),
            version: "v1.11.0".into(),
            schematic_id: Some(id.clone()),
            install_image: Some(format!("127.0.0.1:5000/metal-installer/{id}:v1.11.0")),
            extensions: vec![],
            esc: None,
        };
        let current = format!("factory.talos.dev/installer/{}", "b".repeat(64));
        assert_eq!(
            new_image_url(&current, &target).unwrap(),
            format!("factory.talos.dev/installer/{id}")
        );
        assert_eq!(
            new_image_url("ghcr.io/me/installer", &target).unwrap(),
            format!("127.0.0.1:5000/metal-installer/{id}")
        );
        assert_eq!(
            without_tag("127.0.0.1:5000/installer"),
            "127.0.0.1:5000/installer"
        );
    }
}
