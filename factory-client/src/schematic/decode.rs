//! Strict decoding of schematic YAML/JSON with the factory's rules: first document only,
//! unknown fields and duplicate keys rejected, integers in any YAML form, scalars typed the
//! way the factory's YAML library types them.

use super::SchematicError;
use super::model::{
    Bootloader, Customization, DiskImage, MetaValue, Overlay, Schematic, SecureBoot,
    SystemExtensions,
};
use super::options::{OptionMap, OptionValue};
use crate::yaml::node::{Node, NodeKind, parse_first_document};
use crate::yaml::resolve::{Resolved, resolve_plain, yaml11_bool_value};

/// Longest mapping key the factory writes as a simple `key: value` pair.
const MAX_SIMPLE_KEY_BYTES: usize = 128;

/// Decodes the first document of `text` into a schematic.
pub(crate) fn decode_schematic(text: &str) -> Result<Schematic, SchematicError> {
    if text.len() > super::MAX_SCHEMATIC_BYTES {
        return Err(SchematicError::new(format!(
            "the schematic is {} bytes; at most {} are accepted (a schematic is a few hundred bytes): check that the right file was given",
            text.len(),
            super::MAX_SCHEMATIC_BYTES
        )));
    }
    let root = parse_first_document(text)?.ok_or_else(|| {
        SchematicError::new(
            "empty schematic (the factory answers `EOF`); send `customization: {}` for the empty schematic",
        )
    })?;
    let mut schematic = Schematic::default();
    for (key, value) in fields(&root, "", &["owner", "overlay", "customization"])? {
        match key {
            "owner" => schematic.owner = string(value, "owner")?,
            "overlay" => schematic.overlay = overlay(value)?,
            _ => schematic.customization = customization(value)?,
        }
    }
    Ok(schematic)
}

fn overlay(node: &Node) -> Result<Overlay, SchematicError> {
    let mut overlay = Overlay::default();
    for (key, value) in fields(node, "overlay", &["image", "name", "options"])? {
        match key {
            "image" => overlay.image = string(value, "overlay.image")?,
            "name" => overlay.name = string(value, "overlay.name")?,
            _ => overlay.options = options(value)?,
        }
    }
    Ok(overlay)
}

const CUSTOMIZATION_FIELDS: &[&str] = &[
    "embeddedMachineConfiguration",
    "extraKernelArgs",
    "meta",
    "systemExtensions",
    "bootloader",
    "secureboot",
    "diskImage",
];

fn customization(node: &Node) -> Result<Customization, SchematicError> {
    let mut out = Customization::default();
    for (key, value) in fields(node, "customization", CUSTOMIZATION_FIELDS)? {
        let path = format!("customization.{key}");
        match key {
            "embeddedMachineConfiguration" => {
                out.embedded_machine_configuration = string(value, &path)?
            }
            "extraKernelArgs" => out.extra_kernel_args = string_list(value, &path)?,
            "meta" => out.meta = meta_list(value, &path)?,
            "systemExtensions" => out.system_extensions = system_extensions(value, &path)?,
            "bootloader" => out.bootloader = bootloader(value, &path)?,
            "secureboot" => out.secureboot = secureboot(value, &path)?,
            _ => out.disk_image = disk_image(value, &path)?,
        }
    }
    Ok(out)
}

fn meta_list(node: &Node, path: &str) -> Result<Vec<MetaValue>, SchematicError> {
    let items = list(node, path)?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = format!("{path}[{index}]");
            reject_null_item(item, &path)?;
            let mut meta = MetaValue::default();
            for (key, value) in fields(item, &path, &["key", "value"])? {
                match key {
                    "key" => {
                        meta.key =
                            unsigned(value, &format!("{path}.key"), u64::from(u8::MAX))? as u8
                    }
                    _ => meta.value = string(value, &format!("{path}.value"))?,
                }
            }
            Ok(meta)
        })
        .collect()
}

fn system_extensions(node: &Node, path: &str) -> Result<SystemExtensions, SchematicError> {
    let mut out = SystemExtensions::default();
    for (_, value) in fields(node, path, &["officialExtensions"])? {
        out.official_extensions = string_list(value, &format!("{path}.officialExtensions"))?;
    }
    Ok(out)
}

fn secureboot(node: &Node, path: &str) -> Result<SecureBoot, SchematicError> {
    let mut out = SecureBoot::default();
    for (key, value) in fields(node, path, &["enrollKeys", "includeWellKnownCertificates"])? {
        let path = format!("{path}.{key}");
        match key {
            "enrollKeys" => out.enroll_keys = string(value, &path)?,
            _ => out.include_well_known_certificates = boolean(value, &path)?,
        }
    }
    Ok(out)
}

fn disk_image(node: &Node, path: &str) -> Result<DiskImage, SchematicError> {
    let mut out = DiskImage::default();
    for (_, value) in fields(node, path, &["sectorSize"])? {
        out.sector_size = unsigned(value, &format!("{path}.sectorSize"), u64::MAX)?;
    }
    Ok(out)
}

/// The entries of a struct-like mapping, checked against the allowed field names and for
/// duplicate keys. A null node is an empty mapping.
fn fields<'n>(
    node: &'n Node,
    path: &str,
    allowed: &[&str],
) -> Result<Vec<(&'n str, &'n Node)>, SchematicError> {
    let entries = mapping(node, path)?;
    let mut out: Vec<(&str, &Node)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let name = key_text(key, path)?;
        if let Some((_, first)) = out.iter().find(|(seen, _)| *seen == name) {
            return Err(duplicate_key(key, path, name, first));
        }
        if !allowed.contains(&name) {
            return Err(SchematicError::at_field(
                key.line,
                path,
                format!(
                    "unknown field `{name}`; expected one of: {}",
                    allowed.join(", ")
                ),
            ));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn duplicate_key(key: &Node, path: &str, name: &str, first_value: &Node) -> SchematicError {
    SchematicError::at_field(
        key.line,
        path,
        format!(
            "mapping key `{name}` already defined near line {}; remove one of them",
            first_value.line
        ),
    )
}

/// The entries of a mapping node; null is empty, anything else is an error.
fn mapping<'n>(node: &'n Node, path: &str) -> Result<&'n [(Node, Node)], SchematicError> {
    match &node.kind {
        NodeKind::Map(entries) => Ok(entries),
        _ if node.is_null() => Ok(&[]),
        _ => Err(type_error(node, path, "a mapping")),
    }
}

/// The items of a sequence node; null is empty, anything else is an error.
fn list<'n>(node: &'n Node, path: &str) -> Result<&'n [Node], SchematicError> {
    match &node.kind {
        NodeKind::Seq(items) => Ok(items),
        _ if node.is_null() => Ok(&[]),
        _ => Err(type_error(node, path, "a list")),
    }
}

/// A mapping key as text; merge keys and collections are refused.
fn key_text<'n>(key: &'n Node, path: &str) -> Result<&'n str, SchematicError> {
    match &key.kind {
        NodeKind::Scalar { text, plain } => {
            if *plain && resolve_plain(text) == Resolved::Merge {
                return Err(SchematicError::at_field(
                    key.line,
                    path,
                    "merge keys (`<<`) are not supported; write the fields out",
                ));
            }
            Ok(text)
        }
        _ => Err(SchematicError::at_field(
            key.line,
            path,
            "mapping keys must be scalars",
        )),
    }
}

/// A string field: any scalar's text, as the factory stores it (`0x10` stays `0x10`);
/// null is empty.
fn string(node: &Node, path: &str) -> Result<String, SchematicError> {
    match &node.kind {
        _ if node.is_null() => Ok(String::new()),
        NodeKind::Scalar { text, .. } => Ok(text.clone()),
        _ => Err(type_error(node, path, "a string")),
    }
}

fn string_list(node: &Node, path: &str) -> Result<Vec<String>, SchematicError> {
    list(node, path)?
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = format!("{path}[{index}]");
            reject_null_item(item, &path)?;
            string(item, &path)
        })
        .collect()
}

/// Null list items are dropped by some versions of the factory's YAML library and kept by
/// others, so they are refused rather than guessed.
fn reject_null_item(item: &Node, path: &str) -> Result<(), SchematicError> {
    if item.is_null() {
        return Err(SchematicError::at_field(
            item.line,
            path,
            "null list item; remove it or quote it (\"\") if an empty string is meant",
        ));
    }
    Ok(())
}

/// A boolean: `true`/`false`, or a YAML 1.1 spelling (`yes`, `on`, `n`, ...); null is false.
fn boolean(node: &Node, path: &str) -> Result<bool, SchematicError> {
    if node.is_null() {
        return Ok(false);
    }
    let NodeKind::Scalar { text, plain } = &node.kind else {
        return Err(type_error(node, path, "a boolean"));
    };
    let typed = if *plain {
        resolve_plain(text)
    } else {
        Resolved::Str
    };
    match typed {
        Resolved::Bool(value) => Ok(value),
        Resolved::Str => yaml11_bool_value(text).ok_or_else(|| type_error(node, path, "a boolean")),
        _ => Err(type_error(node, path, "a boolean")),
    }
}

/// An unsigned integer in any YAML integer form (`10`, `0xa`, `0o12`, `0b1010`), at most
/// `max`; null is 0. Quoted numbers and floats are refused.
fn unsigned(node: &Node, path: &str, max: u64) -> Result<u64, SchematicError> {
    if node.is_null() {
        return Ok(0);
    }
    let Some(text) = node.plain_text() else {
        return Err(type_error(node, path, "an unquoted integer"));
    };
    let value = match resolve_plain(text) {
        Resolved::Int(value) => u64::try_from(value).ok(),
        Resolved::UInt(value) => Some(value),
        _ => return Err(type_error(node, path, "an integer")),
    };
    value.filter(|v| *v <= max).ok_or_else(|| {
        SchematicError::at_field(node.line, path, format!("{text} does not fit 0..={max}"))
    })
}

fn bootloader(node: &Node, path: &str) -> Result<Bootloader, SchematicError> {
    if node.is_null() {
        return Ok(Bootloader::None);
    }
    let text = string(node, path)?;
    text.parse()
        .map_err(|err: SchematicError| SchematicError::at_field(node.line, path, err.message()))
}

/// `overlay.options`: a string-keyed mapping of free-form values.
fn options(node: &Node) -> Result<OptionMap, SchematicError> {
    let path = "overlay.options";
    option_map(mapping(node, path)?, path, true)
}

/// The entries of `overlay.options` (`top_level`) or of a mapping nested in it. At the top
/// the factory's `map[string]any` turns any scalar key into its text; nested mappings are
/// decoded into `any`, so their keys must already be strings.
fn option_map(
    entries: &[(Node, Node)],
    path: &str,
    top_level: bool,
) -> Result<OptionMap, SchematicError> {
    let mut map = OptionMap::new();
    let mut seen: Vec<(&str, &Node)> = Vec::new();
    for (key, value) in entries {
        let name = key_text(key, path)?;
        check_option_key(key, name, path, top_level)?;
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == name) {
            return Err(duplicate_key(key, path, name, first));
        }
        seen.push((name, value));
        map.insert(name, any(value, &format!("{path}.{name}"))?);
    }
    Ok(map)
}

/// A free-form value, typed like the factory's decoding into `any`.
fn any(node: &Node, path: &str) -> Result<OptionValue, SchematicError> {
    match &node.kind {
        NodeKind::Scalar { text, plain: false } => Ok(OptionValue::String(text.clone())),
        NodeKind::Scalar { text, plain: true } => Ok(match resolve_plain(text) {
            Resolved::Null => OptionValue::Null,
            Resolved::Bool(value) => OptionValue::Bool(value),
            Resolved::Int(value) => OptionValue::Int(value),
            Resolved::UInt(value) => OptionValue::UInt(value),
            Resolved::Float(value) => OptionValue::Float(value),
            Resolved::Timestamp | Resolved::Merge | Resolved::Str => {
                OptionValue::String(text.clone())
            }
        }),
        NodeKind::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| any(item, &format!("{path}[{index}]")))
            .collect::<Result<_, _>>()
            .map(OptionValue::List),
        NodeKind::Map(entries) => option_map(entries, path, false).map(OptionValue::Map),
    }
}

/// Null keys, non-string keys in nested mappings, and keys the factory would write in the
/// long `? key` form are refused: the offline ID of such a schematic is not reproduced.
fn check_option_key(
    key: &Node,
    name: &str,
    path: &str,
    top_level: bool,
) -> Result<(), SchematicError> {
    if top_level && key.is_null() {
        return Err(SchematicError::at_field(
            key.line,
            path,
            "null mapping key; quote it or remove it",
        ));
    }
    if !top_level
        && key
            .plain_text()
            .is_some_and(|text| resolve_plain(text) != Resolved::Str)
    {
        return Err(SchematicError::at_field(
            key.line,
            path,
            format!("option key `{name}` is not a string; quote it"),
        ));
    }
    if name.len() > MAX_SIMPLE_KEY_BYTES
        || name
            .chars()
            .any(|c| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'))
    {
        return Err(SchematicError::at_field(
            key.line,
            path,
            format!(
                "option keys must be single-line and at most {MAX_SIMPLE_KEY_BYTES} bytes; shorten `{name}`"
            ),
        ));
    }
    Ok(())
}

fn type_error(node: &Node, path: &str, expected: &str) -> SchematicError {
    SchematicError::at_field(
        node.line,
        path,
        format!("expected {expected}, found {}", node.describe()),
    )
}
