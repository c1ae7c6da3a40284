//! Reading and setting `machine.install.image` in the v1alpha1 document, editing only that value.

use serde_yaml_ng::{Mapping, Value};

use super::error::MachineConfigError;
use super::text_edit::{Edit, insert_after_line, scalar_end};
use super::yaml_tree::{self, Node, Scalar};

const PATH: &str = "machine.install.image";
/// Indentation used when the document gives no example (Talos writes four spaces).
const DEFAULT_INDENT: usize = 4;

/// `machine.install.image` of a parsed v1alpha1 document, when set to a string.
pub(super) fn read(document: &Value) -> Option<String> {
    document
        .get("machine")?
        .get("install")?
        .get("image")?
        .as_str()
        .map(str::to_owned)
}

/// `body` with `machine.install.image` set to `image`. Only that value's text changes;
/// when the key (or `install`, or `machine`) is missing it is added in the document's
/// indentation. The result is re-parsed to prove nothing else changed.
pub(super) fn set(body: &str, image: &str, eol: &str) -> Result<String, MachineConfigError> {
    let scalar = scalar_text(image)?;
    let tree = yaml_tree::parse(body)
        .map_err(|_| unsupported("the document could not be re-read for editing"))?
        .ok_or(MachineConfigError::NoV1Alpha1Document)?;
    let edit = plan_edit(body, &tree, &scalar, eol)?;
    let edited = edit.apply(body);
    verify(body, &edited, image)?;
    Ok(edited)
}

fn plan_edit(body: &str, root: &Node, scalar: &str, eol: &str) -> Result<Edit, MachineConfigError> {
    if !matches!(root, Node::Mapping { flow: false, .. }) {
        return Err(unsupported("the document is not a block mapping"));
    }
    let Some((machine_key, machine)) = root.entry("machine") else {
        let prefix = if body.is_empty() || body.ends_with('\n') {
            ""
        } else {
            eol
        };
        let one = " ".repeat(DEFAULT_INDENT);
        let text = format!("{prefix}machine:{eol}{one}install:{eol}{one}{one}image: {scalar}{eol}");
        return Ok(Edit::insert(body.len(), text));
    };
    let step = match machine.first_key() {
        Some(first) if first.column > machine_key.column => first.column - machine_key.column,
        _ => DEFAULT_INDENT,
    };
    let install_indent = machine_key.column + step;
    let Some((install_key, install)) = machine_entry(machine, "install")? else {
        let text = format!(
            "{pad}install:{eol}{pad}{inner}image: {scalar}{eol}",
            pad = " ".repeat(install_indent),
            inner = " ".repeat(step)
        );
        return Ok(insert_after_line(body, machine_key.line, text, eol));
    };
    let image_indent = install
        .first_key()
        .map_or(install_key.column + step, |first| first.column);
    match install {
        Node::Scalar(value) if value.is_absent() => {
            Ok(insert_image(body, install_key, image_indent, scalar, eol))
        }
        Node::Mapping { flow: false, .. } => match install.entry("image") {
            None => Ok(insert_image(body, install_key, image_indent, scalar, eol)),
            Some((image_key, Node::Scalar(value))) if value.is_absent() => {
                let at = after_colon(body, image_key)?;
                Ok(Edit::insert(at, format!(" {scalar}")))
            }
            Some((_, Node::Scalar(value))) => Ok(Edit {
                range: value.start
                    ..scalar_end(body, value)
                        .ok_or_else(|| unsupported("the current image spans several lines"))?,
                text: scalar.to_owned(),
            }),
            Some(_) => Err(unsupported("machine.install.image is not a string")),
        },
        Node::Mapping { flow: true, .. } => {
            Err(unsupported("machine.install is written in flow style"))
        }
        _ => Err(unsupported("machine.install is not a mapping")),
    }
}

fn insert_image(body: &str, install_key: &Scalar, indent: usize, scalar: &str, eol: &str) -> Edit {
    let text = format!("{}image: {scalar}{eol}", " ".repeat(indent));
    insert_after_line(body, install_key.line, text, eol)
}

/// The entry `key` of the `machine` node, which must be a block mapping or absent-valued.
fn machine_entry<'a>(
    machine: &'a Node,
    key: &str,
) -> Result<Option<(&'a Scalar, &'a Node)>, MachineConfigError> {
    match machine {
        Node::Scalar(value) if value.is_absent() => Ok(None),
        Node::Mapping { flow: false, .. } => Ok(machine.entry(key)),
        Node::Mapping { flow: true, .. } => Err(unsupported("machine is written in flow style")),
        _ => Err(unsupported("machine is not a mapping")),
    }
}

/// Byte offset just after the `:` that follows a plain key.
fn after_colon(body: &str, key: &Scalar) -> Result<usize, MachineConfigError> {
    let key_end = key.start + key.value.len();
    let rest = body.get(key_end..).unwrap_or_default();
    let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if rest[spaces..].starts_with(':') {
        Ok(key_end + spaces + 1)
    } else {
        Err(unsupported("the image key is not written as a plain key"))
    }
}

/// The image as a YAML scalar (quoted only when YAML needs it).
fn scalar_text(image: &str) -> Result<String, MachineConfigError> {
    let invalid = |reason| MachineConfigError::InvalidImage {
        image: image.to_owned(),
        reason,
    };
    if image.is_empty() {
        return Err(invalid("it is empty"));
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains whitespace or control characters"));
    }
    let text = serde_yaml_ng::to_string(&Value::from(image)).map_err(|err| {
        MachineConfigError::Serialize {
            detail: err.to_string(),
        }
    })?;
    Ok(text.trim_end().to_owned())
}

/// Fails unless `edited` parses to `original` with only the image set.
fn verify(original: &str, edited: &str, image: &str) -> Result<(), MachineConfigError> {
    let parse = |text: &str| serde_yaml_ng::from_str::<Value>(text).ok();
    let (Some(before), Some(after)) = (parse(original), parse(edited)) else {
        return Err(unsupported("the edit would not leave valid YAML"));
    };
    if with_image(before, image) == Some(after) {
        Ok(())
    } else {
        Err(unsupported("the edit would change other values"))
    }
}

/// `document` with `machine.install.image` set, creating the mappings on the way.
fn with_image(document: Value, image: &str) -> Option<Value> {
    let mut root = match document {
        Value::Mapping(root) => root,
        _ => return None,
    };
    let mut machine = take_mapping(&mut root, "machine")?;
    let mut install = take_mapping(&mut machine, "install")?;
    install.insert("image".into(), image.into());
    machine.insert("install".into(), Value::Mapping(install));
    root.insert("machine".into(), Value::Mapping(machine));
    Some(Value::Mapping(root))
}

fn take_mapping(parent: &mut Mapping, key: &str) -> Option<Mapping> {
    match parent.get(key) {
        None | Some(Value::Null) => Some(Mapping::new()),
        Some(Value::Mapping(child)) => Some(child.clone()),
        Some(_) => None,
    }
}

fn unsupported(reason: &'static str) -> MachineConfigError {
    MachineConfigError::UnsupportedLayout { path: PATH, reason }
}
