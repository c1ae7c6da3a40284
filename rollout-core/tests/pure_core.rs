//! The core is pure: no async runtime, network or TLS crate may appear among the normal
//! dependencies of rollout-core, nor of talos-client built without its `client` feature
//! (the only way the core reaches talos-client).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::process::Command;

/// Crates that mean I/O: an async runtime, gRPC/HTTP stacks or TLS.
const IMPURE: &[&str] = &[
    "tokio",
    "tokio-rustls",
    "futures",
    "tonic",
    "tonic-prost",
    "prost",
    "h2",
    "hyper",
    "hyper-util",
    "tower",
    "reqwest",
    "rustls",
];

/// The package names of `package`'s normal dependency tree for the given features.
fn dependency_names(package: &str, feature_args: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let output = Command::new(cargo)
        .args(["tree", "--manifest-path", manifest, "-p", package])
        .args(["-e", "normal", "--prefix", "none", "--format", "{p}"])
        .args(feature_args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_pure(names: &BTreeSet<String>) {
    let impure: Vec<&&str> = IMPURE
        .iter()
        .filter(|name| names.contains(**name))
        .collect();
    assert!(impure.is_empty(), "pure build pulls in {impure:?}");
}

#[test]
fn the_core_builds_no_runtime_network_or_tls_crate() {
    let names = dependency_names("rollout-core", &[]);
    assert_pure(&names);
    assert!(names.contains("talos-client"), "{names:?}");
}

#[test]
fn talos_client_without_features_builds_no_runtime_network_or_tls_crate() {
    let names = dependency_names("talos-client", &["--no-default-features"]);
    assert_pure(&names);
    assert!(names.contains("serde_yaml_ng"), "{names:?}");
}

#[test]
fn talos_clients_default_build_has_the_grpc_client() {
    let names = dependency_names("talos-client", &[]);

    assert!(
        names.contains("tonic") && names.contains("tokio"),
        "{names:?}"
    );
}
