//! Parsing behaves like the factory: what it accepts, what it rejects, and where errors
//! point.
#![allow(clippy::unwrap_used)]

use factory_client::schematic::{Bootloader, OptionValue};
use factory_client::{Error, Schematic, SchematicId};

fn rejection(input: &str) -> factory_client::SchematicError {
    match Schematic::from_yaml(input) {
        Err(Error::InvalidSchematic(err)) => err,
        other => panic!("expected a rejection for {input:?}, got {other:?}"),
    }
}

#[test]
fn unknown_field_is_rejected_with_line_and_path() {
    let err = rejection("customization:\n  extraKernelArgs: [a]\n  something: 1\n");
    assert_eq!(err.line(), Some(3));
    assert_eq!(err.field(), Some("customization"));
    assert!(err.message().contains("unknown field `something`"), "{err}");
}

#[test]
fn duplicate_keys_are_rejected() {
    let err = rejection("customization:\n  bootloader: grub\n  bootloader: grub\n");
    assert_eq!(err.line(), Some(3));
    assert_eq!(err.field(), Some("customization"));
    assert!(
        err.message().contains("`bootloader` already defined"),
        "{err}"
    );
    let err = rejection("overlay: {image: i, name: n, options: {a: 1, \"a\": 2}}");
    assert!(err.message().contains("already defined"), "{err}");
}

#[test]
fn meta_keys_accept_every_integer_form_within_a_byte() {
    for (text, key) in [
        ("10", 10),
        ("0xa", 10),
        ("0o12", 10),
        ("012", 10),
        ("0b1010", 10),
        ("+10", 10),
        ("1_0", 10),
        ("255", 255),
        ("0", 0),
    ] {
        let schematic = Schematic::from_yaml(&format!(
            "customization: {{meta: [{{key: {text}, value: v}}]}}"
        ))
        .unwrap();
        assert_eq!(schematic.customization.meta[0].key, key, "{text}");
    }
}

#[test]
fn meta_keys_out_of_range_quoted_or_fractional_are_rejected() {
    for text in ["300", "-1", "\"10\"", "1.5", "abc", "[1]"] {
        let err = rejection(&format!(
            "customization:\n  meta:\n    - key: {text}\n      value: v\n"
        ));
        assert_eq!(err.line(), Some(3), "{text}: {err}");
        assert_eq!(err.field(), Some("customization.meta[0].key"), "{text}");
    }
}

#[test]
fn string_fields_keep_the_scalar_text() {
    let schematic = Schematic::from_yaml(
        "customization: {meta: [{key: 1, value: 0x10}, {key: 2, value: 1.50}, {key: 3, value: ~}]}",
    )
    .unwrap();
    let values: Vec<&str> = schematic
        .customization
        .meta
        .iter()
        .map(|m| m.value.as_str())
        .collect();
    assert_eq!(values, ["0x10", "1.50", ""]);
}

#[test]
fn bootloader_is_case_insensitive_and_auto_is_rejected() {
    let schematic = Schematic::from_yaml("customization: {bootloader: Dual-Boot}").unwrap();
    assert_eq!(schematic.customization.bootloader, Bootloader::DualBoot);
    let err = rejection("customization:\n  bootloader: auto\n");
    assert_eq!(err.line(), Some(2));
    assert!(err.message().contains("auto"), "{err}");
}

#[test]
fn booleans_accept_yaml11_spellings() {
    for (text, value) in [
        ("true", true),
        ("yes", true),
        ("On", true),
        ("n", false),
        ("\"yes\"", true),
        ("~", false),
    ] {
        let schematic = Schematic::from_yaml(&format!(
            "customization: {{secureboot: {{includeWellKnownCertificates: {text}}}}}"
        ))
        .unwrap();
        assert_eq!(
            schematic
                .customization
                .secureboot
                .include_well_known_certificates,
            value,
            "{text}"
        );
    }
    rejection("customization: {secureboot: {includeWellKnownCertificates: \"true\"}}");
    rejection("customization: {secureboot: {includeWellKnownCertificates: 1}}");
}

#[test]
fn a_single_string_where_a_list_belongs_is_rejected() {
    let err = rejection("customization:\n  extraKernelArgs: noapic\n");
    assert_eq!(err.field(), Some("customization.extraKernelArgs"));
    assert!(err.message().contains("expected a list"), "{err}");
}

#[test]
fn quoted_sector_size_is_rejected() {
    let err = rejection("customization: {diskImage: {sectorSize: \"4096\"}}");
    assert_eq!(err.field(), Some("customization.diskImage.sectorSize"));
}

#[test]
fn only_the_first_document_is_read() {
    let schematic = Schematic::from_yaml("customization: {}\n---\nnot: [valid\n").unwrap();
    assert_eq!(schematic.id(), SchematicId::EMPTY);
}

#[test]
fn empty_input_is_rejected_like_the_factory() {
    for input in ["", "   \n", "# only a comment\n"] {
        let err = rejection(input);
        assert!(err.message().contains("EOF"), "{err}");
    }
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_are_accepted() {
    let schematic = Schematic::from_yaml(
        "\u{feff}customization:\r\n  embeddedMachineConfiguration: |\r\n    a: 1\r\n",
    )
    .unwrap();
    assert_eq!(
        schematic.customization.embedded_machine_configuration,
        "a: 1\n"
    );
}

#[test]
fn an_empty_document_is_the_empty_schematic() {
    assert_eq!(
        Schematic::from_yaml("---\n").unwrap().id(),
        SchematicId::EMPTY
    );
}

#[test]
fn syntax_errors_report_the_line() {
    let err = rejection("customization:\n  extraKernelArgs: [a, b\n  bootloader: grub\n");
    assert!(err.line().is_some(), "{err}");
    assert!(err.message().contains("syntax"), "{err}");
}

#[test]
fn anchors_aliases_comments_and_json_all_decode_to_values() {
    let yaml = "# extensions\nx: &ext siderolabs/tailscale\n";
    assert!(
        Schematic::from_yaml(yaml).is_err(),
        "unknown top-level field x must be rejected"
    );
    let with_alias = "customization:\n  extraKernelArgs: [&a quiet, *a]  # twice\n";
    let schematic = Schematic::from_yaml(with_alias).unwrap();
    assert_eq!(
        schematic.customization.extra_kernel_args,
        ["quiet", "quiet"]
    );
    let json = r#"{"customization":{"extraKernelArgs":["quiet","quiet"]}}"#;
    assert_eq!(Schematic::from_yaml(json).unwrap(), schematic);
}

#[test]
fn tags_force_strings_or_are_rejected() {
    let schematic =
        Schematic::from_yaml("customization: {meta: [{key: 1, value: !!str 10}]}").unwrap();
    assert_eq!(schematic.customization.meta[0].value, "10");
    for input in [
        "customization: {extraKernelArgs: [!custom x]}",
        "customization: {meta: [{key: !!int \"10\", value: v}]}",
    ] {
        let err = rejection(input);
        assert!(err.message().contains("unsupported tag"), "{err}");
    }
}

#[test]
fn option_values_are_typed_like_the_factory() {
    let schematic = Schematic::from_yaml(
        "overlay: {image: i, name: n, options: {a: 0x10, b: '0x10', c: yes, d: 1.0, e: ~}}",
    )
    .unwrap();
    let options = &schematic.overlay.options;
    assert_eq!(options.get("a"), Some(&OptionValue::Int(16)));
    assert_eq!(options.get("b"), Some(&OptionValue::String("0x10".into())));
    assert_eq!(options.get("c"), Some(&OptionValue::String("yes".into())));
    assert_eq!(options.get("d"), Some(&OptionValue::Float(1.0)));
    assert_eq!(options.get("e"), Some(&OptionValue::Null));
}

#[test]
fn constructs_the_offline_calculator_cannot_reproduce_are_refused() {
    for input in [
        "overlay: {image: i, name: n, options: {a: {1: x}}}",
        "overlay: {image: i, name: n, options: {? \"a\\nb\" : x}}",
        "customization: {extraKernelArgs: [a, null]}",
        "customization:\n  <<: {extraKernelArgs: [a]}\n",
    ] {
        let err = rejection(input);
        assert!(!err.message().is_empty(), "{input}");
    }
}

#[test]
fn alias_bombs_fail_instead_of_exhausting_memory() {
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..8 {
        let prev = level - 1;
        yaml.push_str(&format!("a{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    let err = rejection(&yaml);
    assert!(
        err.message().contains("too large after expanding aliases"),
        "{err}"
    );
}

#[test]
fn a_large_document_without_aliases_gets_an_honest_size_error() {
    // More nodes than the bound, but no alias: the message must not blame aliases.
    let many = format!(
        "customization: {{extraKernelArgs: [{}a]}}\n",
        "a,".repeat(120_000)
    );
    let err = rejection(&many);
    assert!(err.message().contains("too large"), "{err}");
    assert!(!err.message().contains("alias"), "{err}");

    // Ten megabytes of plain YAML: refused for its size before parsing.
    let huge = format!(
        "customization: {{extraKernelArgs: [{}]}}\n",
        "a".repeat(10 << 20)
    );
    let err = rejection(&huge);
    assert!(err.message().contains("bytes; at most"), "{err}");
    assert!(!err.message().contains("alias"), "{err}");
}

#[test]
fn deep_nesting_fails_instead_of_exhausting_the_stack() {
    let input = format!(
        "overlay: {{image: i, name: n, options: {{a: {}{}}}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let err = rejection(&input);
    assert_eq!(err.line(), Some(1), "{err}");
    let block = format!(
        "overlay:\n  image: i\n  name: n\n  options:\n    a:\n      {}x\n",
        "- ".repeat(200)
    );
    let err = rejection(&block);
    assert!(err.message().contains("nested too deeply"), "{err}");
}

/// The factory decodes `overlay.options` into `map[string]any`: a scalar key there becomes
/// its text, while a nested mapping (decoded into `any`) keeps typed keys this crate does not
/// reproduce, so those are refused, as are null and over-long keys.
#[test]
fn option_keys_follow_the_factory_map_types() {
    let top =
        Schematic::from_yaml("overlay: {image: i, name: n, options: {1: x, true: y}}").unwrap();
    let keys: Vec<&str> = top.overlay.options.iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["1", "true"]);
    let long = "k".repeat(129);
    for (input, needle) in [
        (
            "overlay: {image: i, name: n, options: {~: x}}".to_owned(),
            "null mapping key",
        ),
        (
            "overlay: {image: i, name: n, options: {a: {2: x}}}".to_owned(),
            "`2` is not a string",
        ),
        (
            "overlay: {image: i, name: n, options: {a: {b: 1, b: 2}}}".to_owned(),
            "`b` already defined",
        ),
        (
            format!("overlay: {{image: i, name: n, options: {{{long}: x}}}}"),
            "at most 128 bytes",
        ),
    ] {
        let err = rejection(&input);
        assert!(err.message().contains(needle), "{input}: {err}");
        assert!(
            err.field()
                .is_some_and(|f| f.starts_with("overlay.options")),
            "{input}: {err}"
        );
    }
}

#[test]
fn a_long_misplaced_value_is_quoted_short_in_the_error() {
    let long = "x".repeat(5000);
    let err = rejection(&format!("customization: {{extraKernelArgs: {long}}}"));
    assert_eq!(err.field(), Some("customization.extraKernelArgs"));
    assert!(err.message().contains("(5000 bytes)"), "{err}");
    assert!(err.message().len() < 200, "{err}");
}
