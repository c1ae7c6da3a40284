//! Property tests: machine-config parsing never panics, split→join is the identity, and
//! edits never touch other documents.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use proptest::prelude::*;
use talos_client::machine_config::{ConfigDocuments, DocumentId, ExtensionServiceConfig};

const IMAGE: &str = "factory.talos.dev/installer/abc123:v1.13.1";

/// Bodies of identified documents, by identity.
fn bodies(config: &ConfigDocuments) -> HashMap<DocumentId, String> {
    config
        .documents()
        .iter()
        .filter_map(|document| Some((document.id()?.clone(), document.body().to_owned())))
        .collect()
}

/// Asserts that every document except `edited` kept its exact text, and that the output
/// parses back to the same documents.
fn assert_others_untouched(
    before: &HashMap<DocumentId, String>,
    after: &ConfigDocuments,
    edited: &DocumentId,
) {
    let after_bodies = bodies(after);
    for (id, body) in before {
        if id == edited {
            continue;
        }
        let after_body = after_bodies.get(id).unwrap();
        // Appending after a document without a final line ending must end that line.
        let line_ended = !body.ends_with('\n')
            && after_body
                .strip_prefix(body.as_str())
                .is_some_and(|added| added == "\n" || added == "\r\n");
        assert!(after_body == body || line_ended, "{id} changed");
    }
    let reparsed = ConfigDocuments::parse(&after.to_bytes()).unwrap();
    assert_eq!(bodies(&reparsed), after_bodies);
}

/// Runs every edit on a parsed config; none may panic, and successful edits only touch
/// their own document.
fn edit_everything(config: &ConfigDocuments) {
    let before = bodies(config);

    let mut imaged = config.clone();
    if imaged.set_install_image(IMAGE).is_ok() {
        assert_eq!(imaged.install_image().as_deref(), Some(IMAGE));
        assert_others_untouched(&before, &imaged, &DocumentId::v1alpha1());
    }

    let mut upserted = config.clone();
    let esc = ExtensionServiceConfig {
        name: "tailscale".to_owned(),
        config_files: Vec::new(),
        environment: vec!["TS_AUTHKEY=tskey-x".to_owned()],
    };
    if upserted.upsert_extension_service_config(&esc).is_ok() {
        assert!(upserted.extension_service_configs().contains(&esc));
        assert_others_untouched(
            &before,
            &upserted,
            &DocumentId::new("ExtensionServiceConfig", "tailscale"),
        );
    }

    for id in before.keys() {
        let mut removed = config.clone();
        assert!(removed.remove(&id.kind, &id.name));
        assert!(removed.find(&id.kind, &id.name).is_none());
        assert_others_untouched(&before, &removed, id);
    }
}

fn check_any_input(bytes: &[u8]) {
    if let Ok(config) = ConfigDocuments::parse(bytes) {
        assert_eq!(config.to_bytes(), bytes);
        edit_everything(&config);
    }
}

fn v1alpha1_document() -> impl Strategy<Value = String> {
    (prop_oneof![Just(2usize), Just(4)], 0..9usize, any::<bool>()).prop_map(|(indent, install, comments)| {
        let one = " ".repeat(indent);
        let two = one.repeat(2);
        let comment = |text: &str| if comments { format!("{one}# {text}\n") } else { String::new() };
        let install = match install {
            0 => String::new(),
            1 => format!("{one}install:\n{two}disk: /dev/sda\n"),
            2 => format!("{one}install:\n{two}image: ghcr.io/x/installer:v1\n"),
            3 => format!("{one}install:\n{}{two}image: 'ghcr.io/x/installer:v1'\n", comment("quoted")),
            4 => format!("{one}install:\n{two}image: \"ghcr.io/x/installer:v1\" # note\n"),
            5 => format!("{one}install:\n{two}wipe: false\n{two}image: ghcr.io/x/installer:v1 # pinned\n"),
            6 => format!("{one}install:\n"),
            7 => format!("{one}install:\n{two}image:\n"),
            _ => format!("{one}install: {{image: flow}}\n"),
        };
        format!(
            "version: v1alpha1\nmachine:\n{}{one}type: worker\n{install}{one}kubelet:\n{two}image: ghcr.io/x/kubelet:v1\ncluster:\n{one}clusterName: c\n",
            comment("machine settings")
        )
    })
}

fn typed_document() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("HostnameConfig"),
            Just("ExtensionServiceConfig"),
            Just("KubespanEndpointsConfig"),
            Just("UserVolumeConfig")
        ],
        "[a-z]{1,8}",
        any::<bool>(),
    )
        .prop_map(|(kind, name, comment)| {
            let comment = if comment { "# a comment\n" } else { "" };
            let body = if kind == "ExtensionServiceConfig" {
                "environment:\n  - A=1\n"
            } else {
                "other: value\n"
            };
            format!("{comment}apiVersion: v1alpha1\nkind: {kind}\nname: {name}\n{body}")
        })
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("---\n"),
        Just("--- # next\n"),
        Just("---   \n"),
        Just("\n---\n")
    ]
}

/// A multi-document config: a v1alpha1 document then typed documents, with varied
/// separators, optional CRLF line endings and an optional final newline.
fn config_text() -> impl Strategy<Value = String> {
    (
        v1alpha1_document(),
        prop::collection::vec((separator(), typed_document()), 0..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(main, others, crlf, trailing_newline)| {
            let mut seen = std::collections::HashSet::new();
            let mut text = main;
            for (separator, document) in others {
                if seen.insert(
                    document
                        .lines()
                        .skip_while(|l| l.starts_with('#'))
                        .take(3)
                        .collect::<String>(),
                ) {
                    text.push_str(separator);
                    text.push_str(&document);
                }
            }
            if !trailing_newline {
                text.truncate(text.trim_end_matches('\n').len());
            }
            if crlf {
                text.replace('\n', "\r\n")
            } else {
                text
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_any_input(&bytes);
    }

    #[test]
    fn yaml_like_text_never_panics(lines in prop::collection::vec("(---|  |- |#)?[a-z:{}\\[\\]'\" ]{0,20}", 0..12)) {
        check_any_input(lines.join("\n").as_bytes());
    }

    #[test]
    fn editing_odd_v1alpha1_documents_never_panics(lines in prop::collection::vec("( {0,6})(install|image|machine|disk|- |#)?[a-z:{}\\[\\]'\" |>-]{0,16}", 0..10)) {
        let text = format!("version: v1alpha1\nmachine:\n{}", lines.join("\n"));
        check_any_input(text.as_bytes());
    }

    #[test]
    fn split_then_join_is_the_identity_and_edits_stay_local(text in config_text()) {
        let config = ConfigDocuments::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(config.to_bytes(), text.as_bytes());
        edit_everything(&config);
    }

    #[test]
    fn set_install_image_works_on_every_block_layout(text in config_text()) {
        let mut config = ConfigDocuments::parse(text.as_bytes()).unwrap();
        let flow = text.contains("install: {");
        let result = config.set_install_image(IMAGE);
        prop_assert_eq!(result.is_ok(), !flow, "{:?}", result);
    }
}
