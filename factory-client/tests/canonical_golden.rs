//! Canonical-text golden tests derived from the factory's serialization rules (facts doc
//! §3.2–§3.5): layout, omitempty, quoting, literal blocks, option ordering and re-typing.
#![allow(clippy::unwrap_used)]

use factory_client::Schematic;

fn canonical(input: &str) -> String {
    Schematic::from_yaml(input).unwrap().to_canonical_yaml()
}

/// The facts doc's full layout example, reproduced from an input that uses flow style,
/// shuffled keys, hex and float numbers and a differently cased bootloader.
#[test]
fn full_layout_example_from_shuffled_flow_input() {
    let input = r#"
customization:
  diskImage: {sectorSize: 4096}
  secureboot: {includeWellKnownCertificates: yes, enrollKeys: if-safe}
  bootloader: SD-BOOT
  systemExtensions: {officialExtensions: [siderolabs/iscsi-tools]}
  meta: [{value: "{}", key: 0x0a}]
  extraKernelArgs: ["console=ttyS0,115200n8", net.ifnames=0]
  embeddedMachineConfiguration: "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: my-custom-hostname\nauto: off\n"
overlay:
  options:
    nested: {z: 1.0, "y": [0x1, "2", true]}
    configTxtAppend: dtoverlay=vc4-kms-v3d
    b: 1
    a10: x
    a2: "y"
    A: z
  name: rpi_generic
  image: siderolabs/sbc-raspberrypi
"#;
    let expected = "overlay:
    image: siderolabs/sbc-raspberrypi
    name: rpi_generic
    options:
        A: z
        a2: \"y\"
        a10: x
        b: 1
        configTxtAppend: dtoverlay=vc4-kms-v3d
        nested:
            \"y\":
                - 1
                - \"2\"
                - true
            z: 1
customization:
    embeddedMachineConfiguration: |
        apiVersion: v1alpha1
        kind: HostnameConfig
        hostname: my-custom-hostname
        auto: off
    extraKernelArgs:
        - console=ttyS0,115200n8
        - net.ifnames=0
    meta:
        - key: 10
          value: '{}'
    systemExtensions:
        officialExtensions:
            - siderolabs/iscsi-tools
    bootloader: sd-boot
    secureboot:
        enrollKeys: if-safe
        includeWellKnownCertificates: true
    diskImage:
        sectorSize: 4096
";
    let schematic = Schematic::from_yaml(input).unwrap();
    assert_eq!(schematic.to_canonical_yaml(), expected);
    let dependent: Vec<(String, String)> = schematic
        .version_dependent_strings()
        .into_iter()
        .map(|d| (d.field, d.value))
        .collect();
    assert_eq!(
        dependent,
        [
            ("overlay.options.a2".to_owned(), "y".to_owned()),
            ("overlay.options.nested".to_owned(), "y".to_owned())
        ]
    );
}

#[test]
fn literal_block_clip_strip_and_keep() {
    let clip = canonical("customization: {embeddedMachineConfiguration: \"a\\nb\\n\"}");
    assert_eq!(
        clip,
        "customization:\n    embeddedMachineConfiguration: |\n        a\n        b\n"
    );
    let strip = canonical("customization: {embeddedMachineConfiguration: \"a\\nb\"}");
    assert_eq!(
        strip,
        "customization:\n    embeddedMachineConfiguration: |-\n        a\n        b\n"
    );
    let keep = canonical("customization: {embeddedMachineConfiguration: \"a\\n\\n\\n\"}");
    assert_eq!(
        keep,
        "customization:\n    embeddedMachineConfiguration: |+\n        a\n\n\n"
    );
}

#[test]
fn literal_block_indentation_hint_for_leading_space_or_break() {
    let space = canonical("customization: {embeddedMachineConfiguration: \"  a\\nb\\n\"}");
    assert_eq!(
        space,
        "customization:\n    embeddedMachineConfiguration: |4\n          a\n        b\n"
    );
    let newline = canonical("customization: {embeddedMachineConfiguration: \"\\na\"}");
    assert_eq!(
        newline,
        "customization:\n    embeddedMachineConfiguration: |4-\n\n        a\n"
    );
}

#[test]
fn literal_block_keeps_blank_and_indented_inner_lines() {
    let text =
        canonical("customization: {embeddedMachineConfiguration: \"a:\\n  b: 1\\n\\nc: 2\\n\"}");
    assert_eq!(
        text,
        "customization:\n    embeddedMachineConfiguration: |\n        a:\n          b: 1\n\n        c: 2\n"
    );
}

#[test]
fn literal_block_inside_a_meta_item_indents_two_past_the_key() {
    let text = canonical("customization: {meta: [{key: 12, value: \"line1\\nline2\\n\"}]}");
    assert_eq!(
        text,
        "customization:\n    meta:\n        - key: 12\n          value: |\n            line1\n            line2\n"
    );
}

#[test]
fn literal_block_as_a_list_item_indents_past_the_dash() {
    let text = canonical("customization: {extraKernelArgs: [\"a\\nb\"]}");
    assert_eq!(
        text,
        "customization:\n    extraKernelArgs:\n        - |-\n          a\n          b\n"
    );
}

#[test]
fn multi_line_text_with_space_before_break_is_double_quoted() {
    let text = canonical("customization: {embeddedMachineConfiguration: \"a: 1 \\nb: 2\\n\"}");
    assert_eq!(
        text,
        "customization:\n    embeddedMachineConfiguration: \"a: 1 \\nb: 2\\n\"\n"
    );
}

#[test]
fn multi_line_text_with_trailing_space_is_double_quoted() {
    let text = canonical("customization: {meta: [{key: 1, value: \"a\\nb \"}]}");
    assert_eq!(
        text,
        "customization:\n    meta:\n        - key: 1\n          value: \"a\\nb \"\n"
    );
}

/// go-yaml v4 (every factory since v0.9.0) double-quotes multi-line strings that are only
/// whitespace instead of writing an empty-looking literal block.
#[test]
fn whitespace_only_multi_line_text_is_double_quoted() {
    let text = canonical(
        "customization: {meta: [{key: 1, value: \"\\n\\n\"}, {key: 2, value: \"\\t\\n\"}]}",
    );
    assert_eq!(
        text,
        "customization:\n    meta:\n        - key: 1\n          value: \"\\n\\n\"\n        - key: 2\n          value: \"\\t\\n\"\n"
    );
}

#[test]
fn single_quotes_for_indicators_with_quote_doubling() {
    let text = canonical(
        r##"customization: {extraKernelArgs: ["it's: here", "- x", "#c", " lead", "trail ", "a #b"]}"##,
    );
    assert_eq!(
        text,
        "customization:\n    extraKernelArgs:\n        - 'it''s: here'\n        - '- x'\n        - '#c'\n        - ' lead'\n        - 'trail '\n        - 'a #b'\n"
    );
}

#[test]
fn plain_for_commas_brackets_and_inner_colons() {
    let input = "customization:\n  extraKernelArgs:\n    - ip=10.0.0.2::10.0.0.1:255.255.255.0:host:eth0:off\n    - x,y\n    - x]\n    - -x\n    - café\n";
    let expected = "customization:\n    extraKernelArgs:\n        - ip=10.0.0.2::10.0.0.1:255.255.255.0:host:eth0:off\n        - x,y\n        - x]\n        - -x\n        - café\n";
    assert_eq!(canonical(input), expected);
}

#[test]
fn long_values_are_never_wrapped() {
    let long = "a ".repeat(100) + "end";
    let text = Schematic::builder()
        .kernel_arg(long.clone())
        .build()
        .to_canonical_yaml();
    assert_eq!(
        text,
        format!("customization:\n    extraKernelArgs:\n        - {long}\n")
    );
}

#[test]
fn strings_that_read_back_typed_are_double_quoted() {
    let input = r#"customization: {extraKernelArgs: ["123", "true", "null", "", "0x1f", "1.5", "2001-12-14", "~", "1e3"]}"#;
    let expected = "customization:\n    extraKernelArgs:\n        - \"123\"\n        - \"true\"\n        - \"null\"\n        - \"\"\n        - \"0x1f\"\n        - \"1.5\"\n        - \"2001-12-14\"\n        - \"~\"\n        - \"1e3\"\n";
    assert_eq!(canonical(input), expected);
}

#[test]
fn tabs_controls_and_astral_characters_use_double_quote_escapes() {
    let input = "customization: {extraKernelArgs: [\"a\\tb\", \"bell\\a\", \"smile \\U0001F600\", \"q\\\"uote\"]}";
    let expected = "customization:\n    extraKernelArgs:\n        - \"a\\tb\"\n        - \"bell\\a\"\n        - \"smile \\U0001F600\"\n        - q\"uote\n";
    assert_eq!(canonical(input), expected);
}

#[test]
fn meta_int_values_become_quoted_strings_and_keys_decimal() {
    let input = "customization:\n  meta:\n    - {key: 0o14, value: 123}\n    - {key: 0b1, value: 0x10}\n    - {key: 255, value: \"\"}\n";
    let expected = "customization:\n    meta:\n        - key: 12\n          value: \"123\"\n        - key: 1\n          value: \"0x10\"\n        - key: 255\n          value: \"\"\n";
    assert_eq!(canonical(input), expected);
}

#[test]
fn overlay_with_only_a_name_keeps_an_empty_image() {
    assert_eq!(
        canonical("overlay: {name: rpi_generic}"),
        "overlay:\n    image: \"\"\n    name: rpi_generic\ncustomization: {}\n"
    );
}

#[test]
fn empty_overlay_and_empty_sub_structs_are_omitted() {
    let input = "overlay: {image: '', options: {}}\ncustomization: {systemExtensions: {officialExtensions: []}, secureboot: {includeWellKnownCertificates: false}, diskImage: {sectorSize: 0}, bootloader: none, meta: []}";
    assert_eq!(canonical(input), "customization: {}\n");
}

#[test]
fn owner_comes_first() {
    let text = canonical("customization: {extraKernelArgs: [quiet]}\nowner: alice@example.com");
    assert_eq!(
        text,
        "owner: alice@example.com\ncustomization:\n    extraKernelArgs:\n        - quiet\n"
    );
}

#[test]
fn extension_order_and_duplicates_are_kept() {
    let text = canonical(
        "customization: {systemExtensions: {officialExtensions: [siderolabs/zfs, siderolabs/gvisor, siderolabs/zfs]}}",
    );
    assert_eq!(
        text,
        "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/zfs\n            - siderolabs/gvisor\n            - siderolabs/zfs\n"
    );
}

#[test]
fn option_values_are_retyped_and_empty_collections_stay_flow() {
    let input = "overlay:\n  image: i\n  name: board\n  options:\n    f: 1e3\n    g: 0.5\n    h: 1e21\n    i: 0x10\n    j: null\n    k: \"true\"\n    l: []\n    m: {}\n    n: [[a, b], {c: d, e: f}]\n    o: 2001-12-14\n    p: -.inf\n";
    let expected = "overlay:\n    image: i\n    name: board\n    options:\n        f: 1000\n        g: 0.5\n        h: 1e+21\n        i: 16\n        j: null\n        k: \"true\"\n        l: []\n        m: {}\n        \"n\":\n            - - a\n              - b\n            - c: d\n              e: f\n        o: \"2001-12-14\"\n        p: -.inf\ncustomization: {}\n";
    assert_eq!(canonical(input), expected);
}

#[test]
fn nested_collections_inside_sequence_items_round_up_to_the_next_indent_step() {
    let input = "overlay: {image: i, name: board, options: {list: [{a: {b: c}, d: [1]}]}}";
    let expected = "overlay:\n    image: i\n    name: board\n    options:\n        list:\n            - a:\n                b: c\n              d:\n                - 1\ncustomization: {}\n";
    assert_eq!(canonical(input), expected);
}

#[test]
fn option_keys_are_quoted_like_values() {
    let input =
        "overlay: {image: i, name: board, options: {\"1\": a, \"\": b, \"a b\": c, \"-\": d}}";
    let expected = "overlay:\n    image: i\n    name: board\n    options:\n        \"\": b\n        '-': d\n        \"1\": a\n        a b: c\ncustomization: {}\n";
    assert_eq!(canonical(input), expected);
}

#[test]
fn legacy_compat_strings_are_double_quoted_and_reported() {
    let schematic = Schematic::from_yaml("customization: {extraKernelArgs: [yes, '12:30', <<, no-thanks], meta: [{key: 1, value: Off}]}").unwrap();
    assert_eq!(
        schematic.to_canonical_yaml(),
        "customization:\n    extraKernelArgs:\n        - \"yes\"\n        - \"12:30\"\n        - \"<<\"\n        - no-thanks\n    meta:\n        - key: 1\n          value: \"Off\"\n"
    );
    let fields: Vec<String> = schematic
        .version_dependent_strings()
        .into_iter()
        .map(|d| d.field)
        .collect();
    assert_eq!(
        fields,
        [
            "customization.extraKernelArgs[0]",
            "customization.extraKernelArgs[1]",
            "customization.extraKernelArgs[2]",
            "customization.meta[0].value"
        ]
    );
    assert!(schematic.id_is_server_version_dependent());
}

/// Upstream's key order (`keyList.Less` in gopkg.in/yaml.v3 and go-yaml v4 `sorter.go`):
/// where a letter meets a non-letter, the non-letter sorts first unless the characters
/// before were digits, in which case the letter sorts first. The facts doc §3.4.6 states
/// this the other way round; upstream returns `bl` (b is a letter) when no digits preceded
/// and `al` after digits, which is what this pins down.
#[test]
fn option_keys_put_non_letters_before_letters_except_after_digits() {
    let input = "overlay: {image: i, name: b, options: {ab: 1, a_b: 2, a-b: 3, a1b: 4, a1-: 5, Z: 6, _x: 7}}";
    let expected = "overlay:\n    image: i\n    name: b\n    options:\n        _x: 7\n        Z: 6\n        a-b: 3\n        a_b: 2\n        a1b: 4\n        a1-: 5\n        ab: 1\ncustomization: {}\n";
    assert_eq!(canonical(input), expected);
}

#[test]
fn tabs_stay_raw_inside_literal_blocks() {
    assert_eq!(
        canonical("customization: {embeddedMachineConfiguration: \"a\\tb\\nc\\n\"}"),
        "customization:\n    embeddedMachineConfiguration: |\n        a\tb\n        c\n"
    );
}

#[test]
fn multi_line_option_strings_indent_four_past_their_key() {
    let input = "overlay: {image: i, name: b, options: {configTxtAppend: \"dtoverlay=vc4\\ngpu_mem=128\\n\"}}";
    let expected = "overlay:\n    image: i\n    name: b\n    options:\n        configTxtAppend: |\n            dtoverlay=vc4\n            gpu_mem=128\ncustomization: {}\n";
    assert_eq!(canonical(input), expected);
}

#[test]
fn keep_and_strip_literals_inside_meta_items() {
    let input =
        "customization: {meta: [{key: 1_0, value: \"x\\n\\n\"}, {key: 0x0C, value: \"x\\ny\"}]}";
    let expected = "customization:\n    meta:\n        - key: 10\n          value: |+\n            x\n\n        - key: 12\n          value: |-\n            x\n            y\n";
    assert_eq!(canonical(input), expected);
}

/// Plain option scalars are typed like yaml.v3's resolver (underscores dropped, Go base-0
/// integers, YAML 1.2 `0o` and 1.1 `0` octals, binary) and floats are printed with Go's
/// shortest `%g` (`1e+20`, `1e-07`); a float out of range stays the string it was.
#[test]
fn option_numbers_are_retyped_in_every_form() {
    let input = "overlay: {image: i, name: b, options: {a: 0o17, b: 017, c: +1, d: 1_000, e: .5, f: 1., g: -0x10, h: 0b101, i: .NaN, j: 18446744073709551615, k: 1e400, l: 0.1, m: 100000000000000000000.0, o: 123456789.0, p: 1e-7}}";
    let expected = "overlay:\n    image: i\n    name: b\n    options:\n        a: 15\n        b: 15\n        c: 1\n        d: 1000\n        e: 0.5\n        f: 1\n        g: -16\n        h: 5\n        i: .nan\n        j: 18446744073709551615\n        k: 1e400\n        l: 0.1\n        m: 1e+20\n        o: 1.23456789e+08\n        p: 1e-07\ncustomization: {}\n";
    assert_eq!(canonical(input), expected);
}

/// Strings that only look numeric stay plain; ones the resolver would read as a number
/// (`08` is a float, `1_000` an integer) are double-quoted.
#[test]
fn near_numbers_are_quoted_only_when_they_resolve() {
    let input =
        r#"customization: {extraKernelArgs: ["1e400", "0b12", "08", "1_000", "+.inf", "a  b"]}"#;
    let expected = "customization:\n    extraKernelArgs:\n        - 1e400\n        - 0b12\n        - \"08\"\n        - \"1_000\"\n        - \"+.inf\"\n        - a  b\n";
    assert_eq!(canonical(input), expected);
}

/// A string starting with U+FEFF is double-quoted with every character escaped (the
/// factory's emitter checks for a byte-order mark at the start of the value, not at each
/// character); a U+FEFF elsewhere escapes only itself.
#[test]
fn a_leading_byte_order_mark_escapes_the_whole_string() {
    assert_eq!(
        canonical("customization: {extraKernelArgs: [\"\\uFEFFab c\\u00e9\"]}"),
        "customization:\n    extraKernelArgs:\n        - \"\\uFEFF\\x61\\x62\\x20\\x63\\xE9\"\n"
    );
    assert_eq!(
        canonical("customization: {extraKernelArgs: [\"a\\uFEFFb\"]}"),
        "customization:\n    extraKernelArgs:\n        - \"a\\uFEFFb\"\n"
    );
}
