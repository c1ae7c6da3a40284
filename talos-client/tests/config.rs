//! TalosConfig: talosctl's file format, context selection and errors naming file, context, field.
#![allow(clippy::unwrap_used)]

mod identity_pki;

use identity_pki::{TalosconfigValues, b64};
use talos_client::config::{ConfigError, ConfigProblem, TalosConfig};
use talos_client::identity::IdentityProblem;
use talos_client::identity::Role;

fn two_context_file(prod: &TalosconfigValues, lab: &TalosconfigValues) -> String {
    format!(
        "context: prod\ncontexts:\n  prod:\n{}    nodes: [10.0.0.2, 10.0.0.3]\n  lab:\n{}",
        prod.context_yaml("[10.0.0.2, 'fd00::2', '[fd00::3]:50001', cp.example.com:6000]"),
        lab.context_yaml("[192.168.1.10]"),
    )
}

fn write_file(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("config");
    std::fs::write(&path, text).unwrap();
    path
}

fn invalid(err: &ConfigError) -> (Option<&str>, Option<&str>, &ConfigProblem) {
    let at = err.location().unwrap();
    (at.context_name(), at.field_name(), err.problem().unwrap())
}

#[test]
fn current_context_has_normalized_endpoints_nodes_and_roles() {
    let prod = TalosconfigValues::admin();
    let lab = TalosconfigValues::with_roles(&["os:reader"]);
    let config = TalosConfig::from_yaml(&two_context_file(&prod, &lab)).unwrap();

    let context = config.context(None).unwrap();

    assert_eq!(context.name(), "prod");
    assert_eq!(
        context.endpoints(),
        [
            "10.0.0.2:50000",
            "[fd00::2]:50000",
            "[fd00::3]:50001",
            "cp.example.com:6000"
        ]
    );
    assert_eq!(context.nodes(), ["10.0.0.2", "10.0.0.3"]);
    assert!(context.identity().roles().contains(&Role::Admin));
}

#[test]
fn named_context_is_selected_over_the_current_one() {
    let config = TalosConfig::from_yaml(&two_context_file(
        &TalosconfigValues::admin(),
        &TalosconfigValues::with_roles(&["os:reader"]),
    ))
    .unwrap();

    let lab = config.context(Some("lab")).unwrap();

    assert_eq!(lab.endpoints(), ["192.168.1.10:50000"]);
    assert!(lab.nodes().is_empty());
    assert_eq!(lab.identity().roles().to_string(), "os:reader");
}

#[test]
fn unknown_context_lists_the_available_ones_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let values = TalosconfigValues::admin();
    let path = write_file(&dir, &two_context_file(&values, &values));
    let config = TalosConfig::from_path(&path).unwrap();

    let err = config.context(Some("staging")).unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "{}: context \"staging\" not found; available contexts: lab, prod",
            path.display()
        )
    );
}

#[test]
fn file_without_current_context_needs_a_name() {
    let values = TalosconfigValues::admin();
    let text = format!("contexts:\n  only:\n{}", values.context_yaml("[10.0.0.2]"));
    let config = TalosConfig::from_yaml(&text).unwrap();

    let err = config.context(None).unwrap_err();

    assert_eq!(err.problem(), Some(&ConfigProblem::NoContextSelected));
    assert!(config.context(Some("only")).is_ok());
}

#[test]
fn bad_base64_names_file_context_field_and_byte_without_leaking_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let values = TalosconfigValues::admin();
    let broken_crt = format!("{}*{}", &values.crt[..17], &values.crt[17..]);
    let text = format!(
        "context: prod\ncontexts:\n  prod:\n    endpoints: [10.0.0.2]\n    ca: {}\n    crt: {broken_crt}\n    key: {}\n",
        values.ca, values.key
    );
    let path = write_file(&dir, &text);

    let err = TalosConfig::from_path(&path)
        .unwrap()
        .context(None)
        .unwrap_err();

    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "{}: context \"prod\": field \"crt\": not valid base64 (byte 17)",
            path.display()
        )),
        "{message}"
    );
    assert!(!message.contains(&values.key[..40]));
    assert!(!format!("{err:?}").contains(&values.key[..40]));
}

#[test]
fn malformed_yaml_names_the_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, "context: prod\ncontexts:\n  prod: [unclosed\n");

    let err = TalosConfig::from_path(&path).unwrap_err();

    let message = err.to_string();
    assert!(
        matches!(err.problem(), Some(ConfigProblem::Syntax { .. })),
        "{message}"
    );
    assert!(
        message.starts_with(&format!("{}: not valid YAML", path.display())),
        "{message}"
    );
    assert!(message.contains("line"), "{message}");
}

#[test]
fn non_mapping_documents_are_rejected() {
    for text in [
        "- a\n- b\n",
        "just a string\n",
        "contexts: [a, b]\n",
        "context: [x]\n",
    ] {
        let err = TalosConfig::from_yaml(text).unwrap_err();
        assert!(
            matches!(err.problem(), Some(ConfigProblem::WrongType { .. })),
            "{text}: {err}"
        );
    }
}

#[test]
fn empty_file_has_no_contexts() {
    let config = TalosConfig::from_yaml("").unwrap();
    assert_eq!(config.context_names().count(), 0);
    assert_eq!(
        config.context(None).unwrap_err().problem(),
        Some(&ConfigProblem::NoContextSelected)
    );
}

#[test]
fn missing_key_is_reported_for_that_context_only() {
    let values = TalosconfigValues::admin();
    let text = format!(
        "context: good\ncontexts:\n  good:\n{}  nokey:\n    endpoints: [10.0.0.2]\n    ca: {}\n    crt: {}\n",
        values.context_yaml("[10.0.0.2]"),
        values.ca,
        values.crt
    );
    let config = TalosConfig::from_yaml(&text).unwrap();

    let err = config.context(Some("nokey")).unwrap_err();

    assert_eq!(
        invalid(&err),
        (Some("nokey"), Some("key"), &ConfigProblem::MissingField)
    );
    assert!(config.context(Some("good")).is_ok());
}

#[test]
fn omni_style_context_is_unsupported_but_tolerated() {
    let values = TalosconfigValues::admin();
    let text = format!(
        "context: omni\ncontexts:\n  omni:\n    endpoints: [https://acme.omni.siderolabs.io]\n    auth:\n      siderov1:\n        identity: me@example.com\n  local:\n{}",
        values.context_yaml("[10.0.0.2]")
    );
    let config = TalosConfig::from_yaml(&text).unwrap();

    let err = config.context(None).unwrap_err();

    assert_eq!(
        invalid(&err),
        (
            Some("omni"),
            Some("auth"),
            &ConfigProblem::UnsupportedAuth {
                mechanism: "siderov1".to_owned()
            }
        )
    );
    assert!(config.context(Some("local")).is_ok());
}

#[test]
fn optional_and_deprecated_keys_are_accepted() {
    let values = TalosconfigValues::admin();
    let text = format!(
        "context: c\ncontexts:\n  c:\n{}    target: 10.0.0.9\n    cluster: homelab\n    proxy-url: http://proxy:3128\n    future-key: {{a: 1}}\n",
        values.context_yaml("[10.0.0.2]")
    );

    let config = TalosConfig::from_yaml(&text).unwrap();
    let context = config.context(None).unwrap();

    assert_eq!(context.endpoints(), ["10.0.0.2:50000", "10.0.0.9:50000"]);
    assert_eq!(context.cluster(), Some("homelab"));
}

#[test]
fn url_endpoints_are_rejected_with_a_reason() {
    let values = TalosconfigValues::admin();
    let text = format!(
        "context: c\ncontexts:\n  c:\n{}",
        values.context_yaml("[10.0.0.2, 'https://10.0.0.3']")
    );

    let err = TalosConfig::from_yaml(&text)
        .unwrap()
        .context(None)
        .unwrap_err();

    assert!(
        matches!(invalid(&err), (Some("c"), Some("endpoints"), ConfigProblem::InvalidEndpoint { endpoint, .. }) if endpoint == "https://10.0.0.3"),
        "{err}"
    );
}

#[test]
fn context_without_endpoints_is_rejected() {
    let values = TalosconfigValues::admin();
    let text = format!("context: c\ncontexts:\n  c:\n{}", values.context_yaml("[]"));

    let err = TalosConfig::from_yaml(&text)
        .unwrap()
        .context(None)
        .unwrap_err();

    assert_eq!(
        invalid(&err),
        (Some("c"), Some("endpoints"), &ConfigProblem::MissingField)
    );
}

#[test]
fn key_from_another_identity_is_a_mismatch_in_that_context() {
    let dir = tempfile::tempdir().unwrap();
    let values = TalosconfigValues::admin();
    let other = TalosconfigValues::admin();
    let text = format!(
        "context: prod\ncontexts:\n  prod:\n    endpoints: [10.0.0.2]\n    ca: {}\n    crt: {}\n    key: {}\n",
        values.ca, values.crt, other.key
    );
    let path = write_file(&dir, &text);

    let err = TalosConfig::from_path(&path)
        .unwrap()
        .context(None)
        .unwrap_err();

    assert_eq!(
        invalid(&err),
        (
            Some("prod"),
            Some("key"),
            &ConfigProblem::Identity(IdentityProblem::KeyMismatch)
        )
    );
    assert!(err.to_string().starts_with(&format!(
        "{}: context \"prod\": field \"key\": ",
        path.display()
    )));
}

#[test]
fn pem_that_is_not_base64_of_pem_is_reported_as_not_pem() {
    let values = TalosconfigValues::admin();
    let text = format!(
        "context: c\ncontexts:\n  c:\n    endpoints: [10.0.0.2]\n    ca: {}\n    crt: {}\n    key: {}\n",
        b64("hello"),
        values.crt,
        values.key
    );

    let err = TalosConfig::from_yaml(&text)
        .unwrap()
        .context(None)
        .unwrap_err();

    assert!(
        matches!(
            invalid(&err),
            (
                Some("c"),
                Some("ca"),
                ConfigProblem::Identity(IdentityProblem::NotPem { .. })
            )
        ),
        "{err}"
    );
}

#[test]
fn to_yaml_round_trips_and_keeps_the_upstream_key_label() {
    let values = TalosconfigValues::admin();
    let original = TalosConfig::from_yaml(&two_context_file(&values, &values)).unwrap();

    let written = original.to_yaml().unwrap();
    let reread = TalosConfig::from_yaml(&written).unwrap();

    assert_eq!(reread.current_context_name(), Some("prod"));
    let (before, after) = (
        original.context(None).unwrap(),
        reread.context(None).unwrap(),
    );
    assert_eq!(before.endpoints(), after.endpoints());
    assert_eq!(before.nodes(), after.nodes());
    assert_eq!(before.identity().roles(), after.identity().roles());
    use secrecy::ExposeSecret;
    assert!(
        after
            .identity()
            .key_pem()
            .expose_secret()
            .starts_with(b"-----BEGIN ED25519 PRIVATE KEY-----")
    );
}

#[test]
fn to_yaml_keeps_unusable_contexts_verbatim() {
    let values = TalosconfigValues::admin();
    let text = format!(
        "context: local\ncontexts:\n  omni:\n    endpoints: [https://acme.omni.siderolabs.io]\n    auth:\n      siderov1:\n        identity: me@example.com\n  local:\n{}",
        values.context_yaml("[10.0.0.2]")
    );

    let written = TalosConfig::from_yaml(&text).unwrap().to_yaml().unwrap();

    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&written).unwrap();
    assert_eq!(
        value["contexts"]["omni"]["auth"]["siderov1"]["identity"],
        "me@example.com"
    );
}

#[test]
fn new_config_writes_a_file_talosctl_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let values = TalosconfigValues::admin();
    let text = format!(
        "context: sim\ncontexts:\n  sim:\n{}",
        values.context_yaml("[127.0.0.1:50123]")
    );
    let context = TalosConfig::from_yaml(&text)
        .unwrap()
        .context(None)
        .unwrap()
        .clone();
    let path = dir.path().join("nested/dir/talosconfig");

    TalosConfig::new(context).write_to(&path).unwrap();

    let reread = TalosConfig::from_path(&path).unwrap();
    assert_eq!(
        reread.context(None).unwrap().endpoints(),
        ["127.0.0.1:50123"]
    );
    assert_eq!(reread.source_path(), Some(path.as_path()));
}

#[cfg(unix)]
#[test]
fn written_file_is_private_even_when_replacing_a_public_one() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, "old");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let values = TalosconfigValues::admin();
    let text = format!(
        "context: c\ncontexts:\n  c:\n{}",
        values.context_yaml("[10.0.0.2]")
    );

    TalosConfig::from_yaml(&text)
        .unwrap()
        .write_to(&path)
        .unwrap();

    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(TalosConfig::from_path(&path).unwrap().context(None).is_ok());
}

#[test]
fn unreadable_path_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent");

    let err = TalosConfig::from_path(&path).unwrap_err();

    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().starts_with(&path.display().to_string()));
}

#[test]
fn debug_output_never_shows_key_material() {
    let values = TalosconfigValues::admin();
    let config = TalosConfig::from_yaml(&two_context_file(&values, &values)).unwrap();

    let debug = format!("{config:?} {:?}", config.context(None).unwrap());

    assert!(!debug.contains(&values.key[..40]));
    assert!(!debug.contains("PRIVATE KEY"));
}

/// An endless file (a device given by mistake) fails quickly with a size error instead of
/// being read into memory.
#[cfg(unix)]
#[test]
fn an_endless_file_is_refused_after_the_size_bound() {
    let err = TalosConfig::from_path(std::path::Path::new("/dev/zero")).unwrap_err();

    let message = err.to_string();
    assert!(message.contains("/dev/zero"), "{message}");
    assert!(
        message.contains(&format!(
            "larger than {} bytes",
            talos_client::config::MAX_TALOSCONFIG_BYTES
        )),
        "{message}"
    );
}
