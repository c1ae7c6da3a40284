//! The schematic as the ordered document the factory serializes: struct field order,
//! omitempty rules, and typed option values.

use super::float::format_float;
use crate::schematic::{Customization, OptionMap, OptionValue, Overlay, Schematic};

/// A node of the canonical document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Doc {
    /// A Go string: its style is chosen by the scalar rules.
    Text(String),
    /// An already formatted non-string scalar (integer, bool, null, float): always plain.
    Typed(String),
    /// A mapping in output order.
    Map(Vec<(String, Doc)>),
    /// A sequence.
    Seq(Vec<Doc>),
}

/// The whole schematic: `owner`, `overlay`, `customization` (always present).
pub(crate) fn schematic_doc(schematic: &Schematic) -> Doc {
    let mut fields = Vec::new();
    push_text(&mut fields, "owner", &schematic.owner);
    if !schematic.overlay.is_empty() {
        fields.push(("overlay".to_owned(), overlay_doc(&schematic.overlay)));
    }
    fields.push((
        "customization".to_owned(),
        customization_doc(&schematic.customization),
    ));
    Doc::Map(fields)
}

/// `image` and `name` are always written once the overlay is present; `options` only
/// when non-empty.
fn overlay_doc(overlay: &Overlay) -> Doc {
    let mut fields = vec![
        ("image".to_owned(), Doc::Text(overlay.image.clone())),
        ("name".to_owned(), Doc::Text(overlay.name.clone())),
    ];
    if !overlay.options.is_empty() {
        fields.push(("options".to_owned(), option_map_doc(&overlay.options)));
    }
    Doc::Map(fields)
}

fn customization_doc(c: &Customization) -> Doc {
    let mut fields = Vec::new();
    push_text(
        &mut fields,
        "embeddedMachineConfiguration",
        &c.embedded_machine_configuration,
    );
    push_text_list(&mut fields, "extraKernelArgs", &c.extra_kernel_args);
    if !c.meta.is_empty() {
        let items = c
            .meta
            .iter()
            .map(|meta| {
                Doc::Map(vec![
                    ("key".to_owned(), Doc::Typed(meta.key.to_string())),
                    ("value".to_owned(), Doc::Text(meta.value.clone())),
                ])
            })
            .collect();
        fields.push(("meta".to_owned(), Doc::Seq(items)));
    }
    let mut extensions = Vec::new();
    push_text_list(
        &mut extensions,
        "officialExtensions",
        &c.system_extensions.official_extensions,
    );
    push_map(&mut fields, "systemExtensions", extensions);
    if c.bootloader != crate::schematic::Bootloader::None {
        fields.push((
            "bootloader".to_owned(),
            Doc::Text(c.bootloader.as_str().to_owned()),
        ));
    }
    let mut secureboot = Vec::new();
    push_text(&mut secureboot, "enrollKeys", &c.secureboot.enroll_keys);
    if c.secureboot.include_well_known_certificates {
        secureboot.push((
            "includeWellKnownCertificates".to_owned(),
            Doc::Typed("true".to_owned()),
        ));
    }
    push_map(&mut fields, "secureboot", secureboot);
    if c.disk_image.sector_size != 0 {
        let disk = vec![(
            "sectorSize".to_owned(),
            Doc::Typed(c.disk_image.sector_size.to_string()),
        )];
        push_map(&mut fields, "diskImage", disk);
    }
    Doc::Map(fields)
}

/// omitempty for strings.
fn push_text(fields: &mut Vec<(String, Doc)>, key: &str, value: &str) {
    if !value.is_empty() {
        fields.push((key.to_owned(), Doc::Text(value.to_owned())));
    }
}

/// omitempty for string lists.
fn push_text_list(fields: &mut Vec<(String, Doc)>, key: &str, values: &[String]) {
    if !values.is_empty() {
        let items = values.iter().map(|v| Doc::Text(v.clone())).collect();
        fields.push((key.to_owned(), Doc::Seq(items)));
    }
}

/// omitempty for structs: dropped when every field was dropped.
fn push_map(fields: &mut Vec<(String, Doc)>, key: &str, inner: Vec<(String, Doc)>) {
    if !inner.is_empty() {
        fields.push((key.to_owned(), Doc::Map(inner)));
    }
}

fn option_map_doc(map: &OptionMap) -> Doc {
    Doc::Map(
        map.iter()
            .map(|(key, value)| (key.to_owned(), option_doc(value)))
            .collect(),
    )
}

fn option_doc(value: &OptionValue) -> Doc {
    match value {
        OptionValue::Null => Doc::Typed("null".to_owned()),
        OptionValue::Bool(b) => Doc::Typed(b.to_string()),
        OptionValue::Int(i) => Doc::Typed(i.to_string()),
        OptionValue::UInt(u) => Doc::Typed(u.to_string()),
        OptionValue::Float(f) => Doc::Typed(format_float(*f)),
        OptionValue::String(s) => Doc::Text(s.clone()),
        OptionValue::List(items) => Doc::Seq(items.iter().map(option_doc).collect()),
        OptionValue::Map(map) => option_map_doc(map),
    }
}
