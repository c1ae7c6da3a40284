//! certSANs edits: golden output, other documents byte-identical, idempotent, undone exactly.
#![allow(clippy::unwrap_used)]

use talos_client::machine_config::{CertSans, Change, ConfigDocuments, MachineConfigError};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/machine_config/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

fn tailnet_sans() -> Vec<String> {
    ["k8s-1.tail1234.ts.net", "100.64.0.1", "fd7a:115c:a1e0::1"]
        .iter()
        .map(|value| (*value).to_owned())
        .collect()
}

/// Adds to both lists, checks the golden bytes, then removes and expects the original.
fn round_trip(original: &str, expected: &str) {
    let mut config = ConfigDocuments::parse(original.as_bytes()).unwrap();
    let sans = tailnet_sans();
    assert_eq!(
        config.add_cert_sans(CertSans::Machine, &sans).unwrap(),
        Change::Replaced
    );
    assert_eq!(
        config.add_cert_sans(CertSans::ApiServer, &sans).unwrap(),
        Change::Replaced
    );
    assert_eq!(String::from_utf8(config.to_bytes()).unwrap(), expected);

    let reparsed = ConfigDocuments::parse(&config.to_bytes()).unwrap();
    assert!(reparsed.cert_sans(CertSans::Machine).ends_with(&sans));
    assert!(reparsed.cert_sans(CertSans::ApiServer).ends_with(&sans));

    config.remove_cert_sans(CertSans::ApiServer, &sans).unwrap();
    config.remove_cert_sans(CertSans::Machine, &sans).unwrap();
    assert_eq!(String::from_utf8(config.to_bytes()).unwrap(), original);
}

#[test]
fn adding_to_a_block_list_and_a_missing_api_server_section_changes_only_those_lines() {
    round_trip(
        &fixture("controlplane.yaml"),
        &fixture("controlplane.cert-sans.expected.yaml"),
    );
}

#[test]
fn adding_to_an_empty_flow_list_fills_the_brackets() {
    let original = "version: v1alpha1\nmachine:\n    type: worker\n    certSANs: []\n    install:\n        disk: /dev/sda\ncluster:\n    apiServer:\n        image: registry.k8s.io/kube-apiserver:v1.33.1\n        certSANs:\n            - 10.5.0.2\n    clusterName: sim\n";
    let expected = "version: v1alpha1\nmachine:\n    type: worker\n    certSANs: [k8s-1.tail1234.ts.net, 100.64.0.1, fd7a:115c:a1e0::1]\n    install:\n        disk: /dev/sda\ncluster:\n    apiServer:\n        image: registry.k8s.io/kube-apiserver:v1.33.1\n        certSANs:\n            - 10.5.0.2\n            - k8s-1.tail1234.ts.net\n            - 100.64.0.1\n            - fd7a:115c:a1e0::1\n    clusterName: sim\n";
    round_trip(original, expected);
}

#[test]
fn missing_lists_are_created_in_the_documents_indentation() {
    let original = "version: v1alpha1\nmachine:\n  type: worker\ncluster:\n  clusterName: sim\n";
    let expected = "version: v1alpha1\nmachine:\n  certSANs:\n    - k8s-1.tail1234.ts.net\n    - 100.64.0.1\n    - fd7a:115c:a1e0::1\n  type: worker\ncluster:\n  apiServer:\n    certSANs:\n      - k8s-1.tail1234.ts.net\n      - 100.64.0.1\n      - fd7a:115c:a1e0::1\n  clusterName: sim\n";
    round_trip(original, expected);
}

#[test]
fn adding_again_is_unchanged_and_other_documents_stay_byte_identical() {
    let original = fixture("controlplane.yaml");
    let mut config = ConfigDocuments::parse(original.as_bytes()).unwrap();
    config
        .add_cert_sans(CertSans::Machine, &tailnet_sans())
        .unwrap();
    let once = config.to_bytes();
    assert_eq!(
        config
            .add_cert_sans(CertSans::Machine, &tailnet_sans())
            .unwrap(),
        Change::Unchanged
    );
    assert_eq!(config.to_bytes(), once);

    let before = ConfigDocuments::parse(original.as_bytes()).unwrap();
    for (old, new) in before.documents()[1..].iter().zip(&config.documents()[1..]) {
        assert_eq!(old.body(), new.body());
    }
}

#[test]
fn removing_keeps_what_the_user_listed() {
    let original = fixture("controlplane.yaml");
    let mut config = ConfigDocuments::parse(original.as_bytes()).unwrap();
    config
        .add_cert_sans(CertSans::Machine, &tailnet_sans())
        .unwrap();
    config
        .remove_cert_sans(CertSans::Machine, &tailnet_sans())
        .unwrap();
    assert_eq!(config.cert_sans(CertSans::Machine), ["10.0.0.10"]);
}

#[test]
fn a_value_with_blanks_is_refused() {
    let mut config = ConfigDocuments::parse(fixture("controlplane.yaml").as_bytes()).unwrap();
    let error = config
        .add_cert_sans(CertSans::Machine, &["a b".to_owned()])
        .unwrap_err();
    assert!(
        matches!(error, MachineConfigError::InvalidCertSan { .. }),
        "{error}"
    );
}
