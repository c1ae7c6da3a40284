//! Property tests: talosconfig parsing never panics and what it accepts it can write back.
#![allow(clippy::unwrap_used)]

mod identity_pki;

use std::sync::OnceLock;

use identity_pki::TalosconfigValues;
use proptest::prelude::*;
use talos_client::config::TalosConfig;

/// A valid talosconfig, generated once (key generation is the slow part).
fn valid_file() -> &'static str {
    static FILE: OnceLock<String> = OnceLock::new();
    FILE.get_or_init(|| {
        let values = TalosconfigValues::admin();
        format!(
            "context: prod\ncontexts:\n  prod:\n{}    nodes: [10.0.0.2]\n",
            values.context_yaml("[10.0.0.2, 'fd00::2']")
        )
    })
}

/// Exercises everything a caller can do with a parsed config; none of it may panic, and
/// an accepted config must survive a write/read round trip.
fn use_fully(text: &str) {
    if let Ok(config) = TalosConfig::from_yaml(text) {
        let _ = config.context(None);
        for name in config.context_names() {
            let _ = config.context(Some(name));
        }
        let written = config.to_yaml().unwrap();
        let reread = TalosConfig::from_yaml(&written).unwrap();
        assert_eq!(
            reread.context_names().collect::<Vec<_>>(),
            config.context_names().collect::<Vec<_>>()
        );
    }
}

fn yaml_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("~".to_owned()),
        Just("''".to_owned()),
        "[a-zA-Z0-9:/.+=\\[\\]-]{0,24}",
        any::<i64>().prop_map(|n| n.to_string()),
        Just("[a, 1, null]".to_owned()),
        Just("{k: v}".to_owned()),
    ]
}

fn context_shaped_yaml() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("endpoints"),
        Just("nodes"),
        Just("ca"),
        Just("crt"),
        Just("key"),
        Just("target"),
        Just("auth"),
        Just("cluster"),
        Just("other"),
    ];
    (
        yaml_scalar(),
        prop::collection::vec(
            (
                "[a-z]{1,6}",
                prop::collection::vec((field, yaml_scalar()), 0..6),
            ),
            0..4,
        ),
    )
        .prop_map(|(current, contexts)| {
            let mut text = format!("context: {current}\ncontexts:\n");
            for (name, fields) in contexts {
                text.push_str(&format!("  {name}:\n"));
                for (field, value) in fields {
                    text.push_str(&format!("    {field}: {value}\n"));
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        use_fully(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        use_fully(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn talosconfig_shaped_yaml_never_panics(text in context_shaped_yaml()) {
        use_fully(&text);
    }

    #[test]
    fn mutated_valid_files_never_panic(position in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = valid_file().as_bytes().to_vec();
        let at = position.index(bytes.len());
        if cut { bytes.truncate(at) } else { bytes[at] = byte }
        use_fully(&String::from_utf8_lossy(&bytes));
    }
}
