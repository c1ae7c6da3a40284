//! Properties: parsing never panics; canonical text is a fixed point of parse ∘ serialize;
//! the ID does not depend on key order, comments, indentation or flow-versus-block style.
#![allow(clippy::unwrap_used)]

use factory_client::Schematic;
use factory_client::schematic::{Bootloader, OptionMap, OptionValue};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Text with the characters that stress quoting: indicators, quotes, spaces, newlines,
/// tabs, carriage returns, non-ASCII and non-BMP characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.=/_-]{1,12}",
        "[a-zA-Z0-9 :#'\"\\\\,{}\\[\\]|>@`~!&*%?.\\n\\t\\r-]{0,14}",
        "[ \\n]{0,3}[a-z]{0,4}[ \\n]{0,3}",
        prop::sample::select(vec![
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "12:30",
            "<<",
            "true",
            "null",
            "~",
            "123",
            "0x1f",
            "1e3",
            "2001-12-14",
            "café",
            "☃",
            "😀 smile",
            "\u{feff}bom",
            "a\u{7f}b",
            "- x",
            "? x",
            ": x",
            "---",
            "...",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Text for places that can sit inside a sequence item. There the factory's emitter writes
/// a `|4` literal whose content is indented less than the hint promises, a text that no
/// YAML parser (the factory's included) reads back; such values hash correctly but are not
/// a fixed point, so they are left out of the round-trip properties.
fn item_text() -> impl Strategy<Value = String> {
    text().prop_filter("no hinted literal inside sequence items", |t| {
        !(t.contains('\n') && t.starts_with([' ', '\n']))
    })
}

fn option_key() -> impl Strategy<Value = String> {
    text().prop_map(|key| key.replace(['\n', '\r'], " "))
}

fn option_value() -> impl Strategy<Value = OptionValue> {
    let leaf = prop_oneof![
        Just(OptionValue::Null),
        any::<bool>().prop_map(OptionValue::Bool),
        any::<i64>().prop_map(OptionValue::Int),
        // -0.0 is written `-0`, which reads back as the integer 0: the factory's own text
        // is not a fixed point for it either.
        any::<f64>()
            .prop_filter("finite, not -0", |f| f.is_finite()
                && !(*f == 0.0 && f.is_sign_negative()))
            .prop_map(OptionValue::Float),
        item_text().prop_map(OptionValue::String),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(OptionValue::List),
            prop::collection::vec((option_key(), inner), 0..4)
                .prop_map(|entries| OptionValue::Map(entries.into_iter().collect())),
        ]
    })
}

fn schematic() -> impl Strategy<Value = Schematic> {
    let overlay = (
        prop::option::of((text(), text())),
        prop::collection::vec((option_key(), option_value()), 0..4),
    );
    let lists = (
        prop::collection::vec(item_text(), 0..4),
        prop::collection::vec((any::<u8>(), item_text()), 0..3),
        prop::collection::vec(item_text(), 0..4),
    );
    let scalars = (
        text(),
        prop::sample::select(vec![
            Bootloader::None,
            Bootloader::DualBoot,
            Bootloader::SdBoot,
            Bootloader::Grub,
        ]),
        text(),
        any::<bool>(),
        prop_oneof![Just(0_u64), Just(4096), any::<u64>()],
    );
    (overlay, lists, scalars).prop_map(
        |((overlay, options), (args, meta, exts), (config, boot, keys, certs, sector))| {
            let mut builder = Schematic::builder();
            if let Some((image, name)) = overlay {
                builder = builder.overlay(image, name);
            }
            for (key, value) in options {
                builder = builder.overlay_option(key, value);
            }
            for arg in args {
                builder = builder.kernel_arg(arg);
            }
            for (key, value) in meta {
                builder = builder.meta(key, value);
            }
            let mut schematic = builder
                .embedded_machine_configuration(config)
                .bootloader(boot)
                .secureboot_enroll_keys(keys)
                .include_well_known_certificates(certs)
                .sector_size(sector)
                .build();
            schematic
                .customization
                .system_extensions
                .official_extensions = exts;
            schematic
        },
    )
}

fn option_json(value: &OptionValue) -> Value {
    match value {
        OptionValue::Null => Value::Null,
        OptionValue::Bool(b) => json!(b),
        OptionValue::Int(i) => json!(i),
        OptionValue::UInt(u) => json!(u),
        OptionValue::Float(f) => json!(f),
        OptionValue::String(s) => json!(s),
        OptionValue::List(items) => Value::Array(items.iter().map(option_json).collect()),
        OptionValue::Map(map) => options_json(map, false),
    }
}

fn options_json(map: &OptionMap, reverse: bool) -> Value {
    let mut entries: Vec<(&str, &OptionValue)> = map.iter().collect();
    if reverse {
        entries.reverse();
    }
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), option_json(v)))
            .collect::<Map<_, _>>(),
    )
}

/// The schematic as JSON, keys in reverse schema order, bootloader in upper case, and empty
/// fields written out explicitly.
fn as_json(s: &Schematic, reverse: bool) -> Value {
    let c = &s.customization;
    let mut customization = vec![
        (
            "embeddedMachineConfiguration",
            json!(c.embedded_machine_configuration),
        ),
        ("extraKernelArgs", json!(c.extra_kernel_args)),
        (
            "meta",
            Value::Array(
                c.meta
                    .iter()
                    .map(|m| json!({"value": m.value, "key": m.key}))
                    .collect(),
            ),
        ),
        (
            "systemExtensions",
            json!({"officialExtensions": c.system_extensions.official_extensions}),
        ),
        ("bootloader", json!(c.bootloader.as_str().to_uppercase())),
        (
            "secureboot",
            json!({"includeWellKnownCertificates": c.secureboot.include_well_known_certificates, "enrollKeys": c.secureboot.enroll_keys}),
        ),
        ("diskImage", json!({"sectorSize": c.disk_image.sector_size})),
    ];
    let overlay = json!({"options": options_json(&s.overlay.options, reverse), "name": s.overlay.name, "image": s.overlay.image});
    let mut top = vec![("owner", json!(s.owner)), ("overlay", overlay)];
    if reverse {
        customization.reverse();
        top.reverse();
    }
    let customization: Map<String, Value> = customization
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    top.push(("customization", Value::Object(customization)));
    Value::Object(top.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Block-style YAML with 2-space indentation, comments on every line, and every string as
/// a JSON (= YAML double-quoted) scalar.
fn as_commented_block_yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&format!("{pad}{}: # note\n", Value::String(key.clone())));
                as_commented_block_yaml(item, indent + 2, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&format!("{pad}- # item\n"));
                as_commented_block_yaml(item, indent + 2, out);
            }
        }
        scalar => out.push_str(&format!("{pad}{scalar}\n")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_text_never_panics(input in "\\PC{0,200}") {
        let _ = Schematic::from_yaml(&input);
    }

    #[test]
    fn parsing_yaml_like_text_never_panics(input in "[a-zA-Z: \\n\\[\\]{}\\-#&*!|>'\"0-9.,]{0,120}") {
        let _ = Schematic::from_yaml(&input);
    }

    #[test]
    fn canonical_text_is_a_fixed_point(schematic in schematic()) {
        let canonical = schematic.to_canonical_yaml();
        let reparsed = Schematic::from_yaml(&canonical).unwrap();
        // Values may be re-typed (a float 1.0 reads back as the integer 1), the text may not.
        prop_assert_eq!(reparsed.to_canonical_yaml(), canonical);
        prop_assert_eq!(reparsed.customization.extra_kernel_args, schematic.customization.extra_kernel_args);
        prop_assert_eq!(reparsed.customization.meta, schematic.customization.meta);
    }

    #[test]
    fn id_ignores_key_order_comments_and_style(schematic in schematic()) {
        let id = schematic.id();
        let json = serde_json::to_string(&as_json(&schematic, true)).unwrap();
        prop_assert_eq!(Schematic::from_yaml(&json).unwrap().id(), id, "json: {}", json);
        let pretty = serde_json::to_string_pretty(&as_json(&schematic, false)).unwrap();
        prop_assert_eq!(Schematic::from_yaml(&pretty).unwrap().id(), id, "flow: {}", pretty);
        let mut block = String::from("# a schematic\n");
        as_commented_block_yaml(&as_json(&schematic, true), 0, &mut block);
        prop_assert_eq!(Schematic::from_yaml(&block).unwrap().id(), id, "block:\n{}", block);
    }
}
