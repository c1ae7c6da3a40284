//! Properties: parsing never panics; canonical text is a fixed point of parse ∘ serialize;
//! the ID does not depend on key order, comments, indentation or flow-versus-block style.
#![allow(clippy::unwrap_used)]

use factory_client::Schematic;
use factory_client::schematic::{Bootloader, OptionMap, OptionValue};
use proptest::prelude::*;
use serde_json::{Value, json};

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

/// A document whose mappings keep their keys in the order given. (serde_json's `Map`
/// sorts its keys, which would quietly turn every "shuffled" input back into one order.)
enum Tree {
    Leaf(Value),
    Map(Vec<(String, Tree)>),
    Seq(Vec<Tree>),
}

impl Tree {
    fn map<const N: usize>(entries: [(&str, Tree); N]) -> Tree {
        Tree::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    /// Reorders the keys of every mapping with a permutation drawn from `seed`.
    fn shuffle(&mut self, seed: &mut u64) {
        match self {
            Tree::Leaf(_) => {}
            Tree::Seq(items) => items.iter_mut().for_each(|item| item.shuffle(seed)),
            Tree::Map(entries) => {
                for i in (1..entries.len()).rev() {
                    *seed ^= *seed << 13;
                    *seed ^= *seed >> 7;
                    *seed ^= *seed << 17;
                    entries.swap(i, (*seed % (i as u64 + 1)) as usize);
                }
                entries
                    .iter_mut()
                    .for_each(|(_, value)| value.shuffle(seed));
            }
        }
    }

    /// JSON text (= YAML flow style); `spread` puts every entry on its own line.
    fn flow(&self, spread: bool, out: &mut String) {
        let separator = if spread { ",\n  " } else { "," };
        match self {
            Tree::Leaf(value) => out.push_str(&value.to_string()),
            Tree::Seq(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(separator);
                    }
                    item.flow(spread, out);
                }
                out.push(']');
            }
            Tree::Map(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(separator);
                    }
                    out.push_str(&format!("{}: ", Value::String(key.clone())));
                    value.flow(spread, out);
                }
                out.push('}');
            }
        }
    }

    /// Block-style YAML with 2-space indentation, a comment on every line, and every
    /// string as a JSON (= YAML double-quoted) scalar.
    fn block(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match self {
            Tree::Map(entries) if !entries.is_empty() => {
                for (key, value) in entries {
                    out.push_str(&format!("{pad}{}: # note\n", Value::String(key.clone())));
                    value.block(indent + 2, out);
                }
            }
            Tree::Seq(items) if !items.is_empty() => {
                for item in items {
                    out.push_str(&format!("{pad}- # item\n"));
                    item.block(indent + 2, out);
                }
            }
            empty_or_leaf => {
                out.push_str(&pad);
                empty_or_leaf.flow(false, out);
                out.push('\n');
            }
        }
    }
}

fn option_tree(value: &OptionValue) -> Tree {
    match value {
        OptionValue::Null => Tree::Leaf(Value::Null),
        OptionValue::Bool(b) => Tree::Leaf(json!(b)),
        OptionValue::Int(i) => Tree::Leaf(json!(i)),
        OptionValue::UInt(u) => Tree::Leaf(json!(u)),
        OptionValue::Float(f) => Tree::Leaf(json!(f)),
        OptionValue::String(s) => Tree::Leaf(json!(s)),
        OptionValue::List(items) => Tree::Seq(items.iter().map(option_tree).collect()),
        OptionValue::Map(map) => options_tree(map),
    }
}

fn options_tree(map: &OptionMap) -> Tree {
    Tree::Map(
        map.iter()
            .map(|(k, v)| (k.to_owned(), option_tree(v)))
            .collect(),
    )
}

fn strings(values: &[String]) -> Tree {
    Tree::Seq(values.iter().map(|v| Tree::Leaf(json!(v))).collect())
}

/// The schematic as a document with the bootloader in upper case and empty fields written
/// out explicitly, in schema order until shuffled.
fn as_tree(s: &Schematic) -> Tree {
    let c = &s.customization;
    let meta = c
        .meta
        .iter()
        .map(|m| {
            Tree::map([
                ("key", Tree::Leaf(json!(m.key))),
                ("value", Tree::Leaf(json!(m.value))),
            ])
        })
        .collect();
    let customization = Tree::map([
        (
            "embeddedMachineConfiguration",
            Tree::Leaf(json!(c.embedded_machine_configuration)),
        ),
        ("extraKernelArgs", strings(&c.extra_kernel_args)),
        ("meta", Tree::Seq(meta)),
        (
            "systemExtensions",
            Tree::map([(
                "officialExtensions",
                strings(&c.system_extensions.official_extensions),
            )]),
        ),
        (
            "bootloader",
            Tree::Leaf(json!(c.bootloader.as_str().to_uppercase())),
        ),
        (
            "secureboot",
            Tree::map([
                ("enrollKeys", Tree::Leaf(json!(c.secureboot.enroll_keys))),
                (
                    "includeWellKnownCertificates",
                    Tree::Leaf(json!(c.secureboot.include_well_known_certificates)),
                ),
            ]),
        ),
        (
            "diskImage",
            Tree::map([("sectorSize", Tree::Leaf(json!(c.disk_image.sector_size)))]),
        ),
    ]);
    let overlay = Tree::map([
        ("image", Tree::Leaf(json!(s.overlay.image))),
        ("name", Tree::Leaf(json!(s.overlay.name))),
        ("options", options_tree(&s.overlay.options)),
    ]);
    Tree::map([
        ("owner", Tree::Leaf(json!(s.owner))),
        ("overlay", overlay),
        ("customization", customization),
    ])
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
    fn id_ignores_key_order_comments_and_style(schematic in schematic(), seed in any::<u64>()) {
        let id = schematic.id();
        let mut seed = seed | 1;
        let mut tree = as_tree(&schematic);
        let mut compact = String::new();
        tree.flow(false, &mut compact);
        prop_assert_eq!(Schematic::from_yaml(&compact).unwrap().id(), id, "flow: {}", compact);
        tree.shuffle(&mut seed);
        let mut spread = String::new();
        tree.flow(true, &mut spread);
        prop_assert_eq!(Schematic::from_yaml(&spread).unwrap().id(), id, "shuffled flow: {}", spread);
        tree.shuffle(&mut seed);
        let mut block = String::from("# a schematic\n");
        tree.block(0, &mut block);
        prop_assert_eq!(Schematic::from_yaml(&block).unwrap().id(), id, "shuffled block:\n{}", block);
    }
}
