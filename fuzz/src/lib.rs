//! The properties the fuzz targets check, one function per parser of untrusted text. Each
//! takes arbitrary bytes, must never panic, and panics only when a property breaks (so the
//! fuzzer reports it). `fuzz_targets/` calls them under libFuzzer; `tests/corpus.rs`
//! replays the saved corpora through them as ordinary tests.

use factory_client::Schematic;
use tailscale_client::{IpNet, Policy};
use talos_client::config::TalosConfig;
use talos_client::machine_config::{ConfigDocuments, ExtensionServiceConfig};

/// A talosconfig parses or is refused; a parsed one writes back to text that parses to
/// the same contexts.
pub fn talosconfig(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = TalosConfig::from_yaml(text) else {
        return;
    };
    let names: Vec<&str> = config.context_names().collect();
    for name in &names {
        let _ = config.context(Some(name));
    }
    let _ = config.context(None);
    let written = config
        .to_yaml()
        .unwrap_or_else(|error| panic!("a parsed talosconfig cannot be written: {error}"));
    let again = TalosConfig::from_yaml(&written)
        .unwrap_or_else(|error| panic!("a written talosconfig does not parse: {error}"));
    assert_eq!(again.context_names().collect::<Vec<_>>(), names);
}

/// Every document's `(id, body)` except the one `skip` names.
fn others(config: &ConfigDocuments, skip: (&str, &str)) -> Vec<(String, String)> {
    config
        .documents()
        .iter()
        .filter(|document| {
            document
                .id()
                .is_none_or(|id| (id.kind.as_str(), id.name.as_str()) != skip)
        })
        .map(|document| {
            let id = document.id().map(ToString::to_string).unwrap_or_default();
            (id, document.body().to_owned())
        })
        .collect()
}

/// Checks that `edited` left every document of `original` but `skip` as it was; the one
/// change allowed is a line ending added to the original's last document when a document
/// is appended after it.
fn assert_others_untouched(
    original: &ConfigDocuments,
    edited: &ConfigDocuments,
    skip: (&str, &str),
) {
    let before = others(original, skip);
    let after = others(edited, skip);
    assert_eq!(before.len(), after.len(), "documents were added or removed");
    let last_kept = original.documents().last().is_some_and(|document| {
        document
            .id()
            .is_none_or(|id| (id.kind.as_str(), id.name.as_str()) != skip)
    });
    for (index, ((id, old), (new_id, new))) in before.iter().zip(&after).enumerate() {
        assert_eq!(id, new_id, "documents were reordered");
        let line_ended = last_kept
            && index + 1 == before.len()
            && (*new == format!("{old}\n") || *new == format!("{old}\r\n"));
        assert!(
            new == old || line_ended,
            "document {id} changed:\n{old}\n---\n{new}"
        );
    }
}

/// A machine config round-trips byte for byte; replacing the tailscale
/// `ExtensionServiceConfig` or the install image changes no other document.
pub fn machine_config(data: &[u8]) {
    let Ok(config) = ConfigDocuments::parse(data) else {
        return;
    };
    assert_eq!(
        config.to_bytes(),
        data,
        "parse + to_bytes is not byte-exact"
    );

    let esc = ExtensionServiceConfig {
        name: "tailscale".to_owned(),
        config_files: Vec::new(),
        environment: vec!["TS_HOSTNAME=fuzz".to_owned()],
    };
    let mut edited = ConfigDocuments::parse(data).unwrap_or_else(|_| unreachable!());
    let skip = ("ExtensionServiceConfig", "tailscale");
    if edited.upsert_extension_service_config(&esc).is_ok() {
        assert_others_untouched(&config, &edited, skip);
        let reparsed = ConfigDocuments::parse(&edited.to_bytes())
            .unwrap_or_else(|error| panic!("an ESC edit broke the config: {error}"));
        assert!(reparsed.extension_service_configs().contains(&esc));
    }

    let image = "factory.talos.dev/installer/fuzz:v1.11.0";
    let mut edited = ConfigDocuments::parse(data).unwrap_or_else(|_| unreachable!());
    if edited.set_install_image(image).is_ok() {
        let skip = ("v1alpha1", "");
        assert_others_untouched(&config, &edited, skip);
        let reparsed = ConfigDocuments::parse(&edited.to_bytes())
            .unwrap_or_else(|error| panic!("an image edit broke the config: {error}"));
        assert_eq!(reparsed.install_image().as_deref(), Some(image));
    }
}

/// A parsed schematic's canonical text is a fixed point: it parses to a schematic with the
/// same canonical text and ID.
pub fn schematic(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(schematic) = Schematic::from_yaml(text) else {
        return;
    };
    let canonical = schematic.to_canonical_yaml();
    let again = Schematic::from_yaml(&canonical)
        .unwrap_or_else(|error| panic!("canonical text does not parse: {error}\n{canonical}"));
    assert_eq!(again.to_canonical_yaml(), canonical, "not a fixed point");
    assert_eq!(again.id(), schematic.id());
}

/// A HuJSON policy edit keeps the policy parseable and is idempotent.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut policy) = Policy::parse(text) else {
        return;
    };
    let route: IpNet = "10.43.0.0/16".parse().unwrap_or_else(|_| unreachable!());
    type Edit = fn(&mut Policy, &IpNet) -> tailscale_client::Result<bool>;
    let edits: [Edit; 3] = [
        |policy, _| policy.ensure_tag_owner("tag:k8s", "autogroup:admin"),
        |policy, route| policy.ensure_route_auto_approver(route, "tag:k8s"),
        |policy, _| policy.ensure_access("tag:admin", "tag:k8s"),
    ];
    for edit in edits {
        if edit(&mut policy, &route).is_err() {
            continue;
        }
        let reparsed = Policy::parse(policy.text())
            .unwrap_or_else(|error| panic!("an edit broke the policy: {error}\n{}", policy.text()));
        let mut again = reparsed;
        let changed = edit(&mut again, &route)
            .unwrap_or_else(|error| panic!("an edit fails on its own output: {error}"));
        assert!(!changed, "an edit is not idempotent:\n{}", policy.text());
    }
}
