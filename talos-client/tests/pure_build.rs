//! Without the `client` feature talos-client is pure: no async runtime, network or TLS
//! crate may appear among its normal dependencies (a planning core relies on this).
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

/// The package names of talos-client's normal dependency tree for the given features.
fn dependency_names(feature_args: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(cargo)
        .args(["tree", "--manifest-path", manifest, "-p", "talos-client"])
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

#[test]
fn without_features_no_runtime_network_or_tls_crate_is_built() {
    let names = dependency_names(&["--no-default-features"]);

    let impure: Vec<&&str> = IMPURE
        .iter()
        .filter(|name| names.contains(**name))
        .collect();
    assert!(impure.is_empty(), "pure build pulls in {impure:?}");
    assert!(names.contains("serde_yaml_ng"), "{names:?}");
}

#[test]
fn the_default_build_has_the_grpc_client() {
    let names = dependency_names(&[]);

    assert!(
        names.contains("tonic") && names.contains("tokio"),
        "{names:?}"
    );
}
