//! Reading, adding and removing `machine.certSANs` and `cluster.apiServer.certSANs` in the
//! v1alpha1 document, as text insertions and deletions that leave every other line alone.

use serde_yaml_ng::{Mapping, Value};

use super::error::MachineConfigError;
use sdk_support::yaml_text::edit::{Edit, insert_after_line, line_range, scalar_end};
use sdk_support::yaml_text::tree::{self as yaml_tree, Node, Scalar};

/// Indentation used when the document gives no example (Talos writes four spaces).
const DEFAULT_INDENT: usize = 4;

/// A list of extra names and addresses a Talos certificate is issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertSans {
    /// `machine.certSANs`: the Talos API (apid) certificate of this node.
    Machine,
    /// `cluster.apiServer.certSANs`: the Kubernetes API server certificate (control plane).
    ApiServer,
}

impl CertSans {
    /// The dotted key path, for example `machine.certSANs`.
    pub fn path(self) -> &'static str {
        match self {
            Self::Machine => "machine.certSANs",
            Self::ApiServer => "cluster.apiServer.certSANs",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Machine => &["machine", "certSANs"],
            Self::ApiServer => &["cluster", "apiServer", "certSANs"],
        }
    }

    fn unsupported(self, reason: &'static str) -> MachineConfigError {
        MachineConfigError::UnsupportedLayout {
            path: self.path(),
            reason,
        }
    }
}

/// The list's string entries in a parsed v1alpha1 document (empty when absent).
pub(super) fn read(document: &Value, list: CertSans) -> Vec<String> {
    let mut node = document;
    for key in list.keys() {
        match node.get(key) {
            Some(child) => node = child,
            None => return Vec::new(),
        }
    }
    node.as_sequence()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `body` with `values` appended to the list (which is created when missing). Only new
/// text is inserted; the result is re-parsed to prove nothing else changed.
pub(super) fn add(
    body: &str,
    list: CertSans,
    values: &[String],
    eol: &str,
) -> Result<String, MachineConfigError> {
    let scalars = values
        .iter()
        .map(|value| scalar_text(value))
        .collect::<Result<Vec<_>, _>>()?;
    let root = tree(body, list)?;
    let edit = plan_add(body, &root, list, &scalars, eol)?;
    let edited = edit.apply(body);
    let expected = with_list(parse(body, list)?, list, |items| {
        items.extend(values.iter().map(|v| Value::from(v.as_str())));
    });
    verify(&edited, expected, list)?;
    Ok(edited)
}

/// `body` without the entry `value` of the list: its item line (block style) or its item
/// text (flow style) is deleted, and a block list left empty loses its key line, as do
/// mappings on the way that held nothing else (so that adding, then removing, gives the
/// original bytes back).
pub(super) fn remove(
    body: &str,
    list: CertSans,
    value: &str,
) -> Result<String, MachineConfigError> {
    let root = tree(body, list)?;
    let Some(path) = locate(&root, list) else {
        return Ok(body.to_owned());
    };
    let Some((_, Node::Sequence { flow, items, .. })) = path.last() else {
        return Ok(body.to_owned());
    };
    let Some(index) = items
        .iter()
        .position(|item| matches!(item, Node::Scalar(s) if s.value == value))
    else {
        return Ok(body.to_owned());
    };
    let scalars = scalar_items(items, list)?;
    let range = if *flow {
        flow_item_range(body, &scalars, index, list)?
    } else if scalars.len() == 1 {
        line_range(body, emptied_branch(&path).line).start
            ..line_range(body, scalars[index].line).end
    } else {
        line_range(body, scalars[index].line)
    };
    let edited = Edit {
        range,
        text: String::new(),
    }
    .apply(body);
    let expected = with_list(parse(body, list)?, list, |items| {
        items.retain(|item| item.as_str() != Some(value));
    });
    verify(&edited, expected, list)?;
    Ok(edited)
}

fn tree(body: &str, list: CertSans) -> Result<Node, MachineConfigError> {
    let root = yaml_tree::parse(body)
        .map_err(|_| list.unsupported("the document could not be re-read for editing"))?
        .ok_or(MachineConfigError::NoV1Alpha1Document)?;
    if matches!(root, Node::Mapping { flow: false, .. }) {
        Ok(root)
    } else {
        Err(list.unsupported("the document is not a block mapping"))
    }
}

/// Every `(key, value)` along the list's path, when the whole path exists.
fn locate(root: &Node, list: CertSans) -> Option<Vec<(&Scalar, &Node)>> {
    let mut path = Vec::new();
    let mut node = root;
    for key in list.keys() {
        let (scalar, child) = node.entry(key)?;
        path.push((scalar, child));
        node = child;
    }
    Some(path)
}

/// The key whose line starts the deletion of an emptied list: the list's own key, or the
/// outermost mapping below the top level that holds nothing but the path to the list.
fn emptied_branch<'a>(path: &[(&'a Scalar, &'a Node)]) -> &'a Scalar {
    let mut start = path[path.len() - 1].0;
    for (key, value) in path[1..path.len() - 1].iter().rev() {
        match value {
            Node::Mapping { entries, .. } if entries.len() == 1 => start = key,
            _ => break,
        }
    }
    start
}

fn plan_add(
    body: &str,
    root: &Node,
    list: CertSans,
    scalars: &[String],
    eol: &str,
) -> Result<Edit, MachineConfigError> {
    let keys = list.keys();
    let mut node = root;
    let mut parent_key: Option<&Scalar> = None;
    let mut step = DEFAULT_INDENT;
    for (depth, key) in keys.iter().enumerate() {
        let entry = match node {
            Node::Scalar(value) if value.is_absent() => None,
            Node::Mapping { flow: false, .. } => node.entry(key),
            _ => return Err(list.unsupported("a mapping on the path is not in block style")),
        };
        let Some((key_scalar, child)) = entry else {
            return Ok(insert_branch(
                body,
                parent_key,
                &keys[depth..],
                scalars,
                step,
                eol,
            ));
        };
        if let Some(first) = child.first_key()
            && first.column > key_scalar.column
        {
            step = first.column - key_scalar.column;
        }
        parent_key = Some(key_scalar);
        node = child;
    }
    let key = parent_key.ok_or_else(|| list.unsupported("the path is empty"))?;
    match node {
        Node::Scalar(value) if value.is_absent() => {
            Ok(insert_branch(body, Some(key), &[], scalars, step, eol))
        }
        Node::Sequence {
            flow: true,
            items,
            start,
            ..
        } => {
            let close = flow_end(body, *start)
                .ok_or_else(|| list.unsupported("the flow list does not end on its first line"))?;
            let separator = if items.is_empty() { "" } else { ", " };
            Ok(Edit::insert(
                close,
                format!("{separator}{}", scalars.join(", ")),
            ))
        }
        Node::Sequence {
            flow: false, items, ..
        } => {
            let items = scalar_items(items, list)?;
            let last = items[items.len() - 1];
            let dash_line = &body[line_range(body, items[0].line)];
            let indent = dash_line.len() - dash_line.trim_start_matches(' ').len();
            let text: String = scalars
                .iter()
                .map(|scalar| format!("{}- {scalar}{eol}", " ".repeat(indent)))
                .collect();
            Ok(insert_after_line(body, last.line, text, eol))
        }
        _ => Err(list.unsupported("the value is not a list")),
    }
}

/// Inserts the missing `keys` (ending in the list) with `scalars` as block items, after
/// `parent`'s line (or at the end of the document for a missing top-level key).
fn insert_branch(
    body: &str,
    parent: Option<&Scalar>,
    keys: &[&str],
    scalars: &[String],
    step: usize,
    eol: &str,
) -> Edit {
    let indent = parent.map_or(0, |key| key.column + step);
    let mut text = String::new();
    for (depth, key) in keys.iter().enumerate() {
        text.push_str(&format!("{}{key}:{eol}", " ".repeat(indent + depth * step)));
    }
    let item_indent = " ".repeat(indent + keys.len() * step);
    for scalar in scalars {
        text.push_str(&format!("{item_indent}- {scalar}{eol}"));
    }
    match parent {
        Some(key) => insert_after_line(body, key.line, text, eol),
        None => {
            let prefix = if body.is_empty() || body.ends_with('\n') {
                ""
            } else {
                eol
            };
            Edit::insert(body.len(), format!("{prefix}{text}"))
        }
    }
}

/// Every item as a one-line scalar.
fn scalar_items(items: &[Node], list: CertSans) -> Result<Vec<&Scalar>, MachineConfigError> {
    let scalars: Vec<&Scalar> = items
        .iter()
        .filter_map(|item| match item {
            Node::Scalar(scalar) => Some(scalar),
            _ => None,
        })
        .collect();
    if scalars.len() == items.len() && !scalars.is_empty() {
        Ok(scalars)
    } else {
        Err(list.unsupported("the list holds something other than plain entries"))
    }
}

/// The text of flow item `index` with the separator that joins it to the others.
fn flow_item_range(
    body: &str,
    items: &[&Scalar],
    index: usize,
    list: CertSans,
) -> Result<std::ops::Range<usize>, MachineConfigError> {
    let end = |scalar: &Scalar| {
        scalar_end(body, scalar).ok_or_else(|| list.unsupported("an entry spans several lines"))
    };
    Ok(match index {
        0 if items.len() > 1 => items[0].start..items[1].start,
        0 => items[0].start..end(items[0])?,
        _ => end(items[index - 1])?..end(items[index])?,
    })
}

/// Byte offset of the `]` closing the flow list that opens at `start` (same line).
fn flow_end(body: &str, start: usize) -> Option<usize> {
    let rest = body.get(start..)?;
    let line = rest.split('\n').next()?;
    line.rfind(']').map(|offset| start + offset)
}

/// A SAN as a YAML scalar (quoted only when YAML needs it).
fn scalar_text(value: &str) -> Result<String, MachineConfigError> {
    let invalid = |reason| MachineConfigError::InvalidCertSan {
        value: value.to_owned(),
        reason,
    };
    if value.is_empty() {
        return Err(invalid("it is empty"));
    }
    if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '[' | ']' | '{' | '}'))
    {
        return Err(invalid(
            "it contains whitespace, control characters or YAML flow punctuation",
        ));
    }
    let text = serde_yaml_ng::to_string(&Value::from(value)).map_err(|err| {
        MachineConfigError::Serialize {
            detail: err.to_string(),
        }
    })?;
    Ok(text.trim_end().to_owned())
}

fn parse(text: &str, list: CertSans) -> Result<Value, MachineConfigError> {
    serde_yaml_ng::from_str::<Value>(text)
        .map_err(|_| list.unsupported("the document could not be re-read for editing"))
}

/// `document` with the list changed by `change`; an emptied list and the mappings below
/// the top level that then hold nothing are dropped, so that "absent" and "empty" compare
/// equal.
fn with_list(document: Value, list: CertSans, change: impl FnOnce(&mut Vec<Value>)) -> Value {
    normalized(document, list, Some(change))
}

fn normalized(
    document: Value,
    list: CertSans,
    change: Option<impl FnOnce(&mut Vec<Value>)>,
) -> Value {
    let Value::Mapping(mut root) = document else {
        return document;
    };
    edit_path(&mut root, list.keys(), change, 0);
    Value::Mapping(root)
}

fn edit_path(
    mapping: &mut Mapping,
    keys: &[&str],
    change: Option<impl FnOnce(&mut Vec<Value>)>,
    depth: usize,
) {
    let [key, rest @ ..] = keys else {
        return;
    };
    if rest.is_empty() {
        let mut items = match mapping.get(*key) {
            Some(Value::Sequence(items)) => items.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return,
        };
        if let Some(change) = change {
            change(&mut items);
        }
        if items.is_empty() {
            mapping.remove(*key);
        } else {
            mapping.insert((*key).into(), Value::Sequence(items));
        }
        return;
    }
    let mut child = match mapping.get(*key) {
        Some(Value::Mapping(child)) => child.clone(),
        None | Some(Value::Null) => Mapping::new(),
        Some(_) => return,
    };
    edit_path(&mut child, rest, change, depth + 1);
    if child.is_empty() && depth > 0 {
        mapping.remove(*key);
    } else if !child.is_empty() || mapping.contains_key(*key) {
        mapping.insert((*key).into(), Value::Mapping(child));
    }
}

fn verify(edited: &str, expected: Value, list: CertSans) -> Result<(), MachineConfigError> {
    let after = normalized(parse(edited, list)?, list, None::<fn(&mut Vec<Value>)>);
    if after == expected {
        Ok(())
    } else {
        Err(list.unsupported("the edit would change other values"))
    }
}
