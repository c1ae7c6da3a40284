//! Known-answer tests: every vector in the shared contracts file, parsed, re-serialized and
//! hashed, must reproduce the factory's canonical text and ID byte for byte.
#![allow(clippy::unwrap_used)]

use factory_client::{Schematic, SchematicId};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    name: String,
    canonical_yaml: String,
    id: String,
}

/// The shared contracts file, vendored so the tests do not depend on a path outside the
/// repository; `vendored_vectors_match_the_shared_contract` keeps the copy honest.
const VECTORS: &str = include_str!("fixtures/schematic-id-vectors.json");

fn vectors() -> Vec<Vector> {
    let vectors: Vec<Vector> = serde_json::from_str(VECTORS).unwrap();
    assert!(vectors.len() >= 14, "vectors file lost entries");
    vectors
}

/// When the workspace sits next to the shared contracts folder, the vendored copy must be
/// identical to it.
#[test]
fn vendored_vectors_match_the_shared_contract() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/contracts/schematic-id-vectors.json"
    );
    if let Ok(text) = std::fs::read_to_string(shared) {
        assert_eq!(text, VECTORS, "re-copy {shared} into tests/fixtures");
    }
}

#[test]
fn every_vector_reserializes_to_its_canonical_text() {
    for vector in vectors() {
        let schematic = Schematic::from_yaml(&vector.canonical_yaml).unwrap();
        assert_eq!(
            schematic.to_canonical_yaml(),
            vector.canonical_yaml,
            "vector {}",
            vector.name
        );
    }
}

#[test]
fn every_vector_hashes_to_its_id() {
    for vector in vectors() {
        let schematic = Schematic::from_yaml(&vector.canonical_yaml).unwrap();
        let expected: SchematicId = vector.id.parse().unwrap();
        assert_eq!(schematic.id(), expected, "vector {}", vector.name);
        assert!(
            !schematic.id_is_server_version_dependent(),
            "vector {}",
            vector.name
        );
    }
}

/// The alternative inputs the upstream unit tests use for the same IDs.
#[test]
fn upstream_alternative_inputs_give_the_same_ids() {
    let cases = [
        (
            "{}",
            "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
        ),
        (
            "customization: null",
            "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
        ),
        (
            "customization:",
            "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
        ),
        (
            r#"customization: {"extraKernelArgs": []}"#,
            "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
        ),
        (
            r#"{"customization": {"extraKernelArgs": ["noapic", "nolapic"], "systemExtensions": {}}}"#,
            "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c",
        ),
        (
            r#"{"customization": {"meta": [{"key": 10, "value": "foo"}], "extraKernelArgs": [], "systemExtensions": {}}}"#,
            "d308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f",
        ),
        (
            r#"{"customization":{"secureboot": {"includeWellKnownCertificates": true}}}"#,
            "fa8e05f142a851d3ee568eb0a8e5841eaf6b0ebc8df9a63df16ac5ed2c04f3e6",
        ),
        (
            r#"{"overlay": {"name": "rpi_generic", "image": "siderolabs/sbc-raspberrypi"}}"#,
            "ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9",
        ),
        (
            r#"{"overlay": {"name": "rpi_generic", "image": "siderolabs/sbc-raspberrypi"}, "customization":{}}"#,
            "ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9",
        ),
        (
            "customization:\n  meta:\n    - key: 0xa\n      value: '{\"externalIPs\":[\"1.2.3.4\"]}'\n",
            "fe866116408a5a13dab7d5003eb57a00954ea81ebeec3fbbcd1a6d4462a00036",
        ),
        (
            "customization:\n  bootloader: GRUB\n",
            "39d496b2cbdb6265d3b714514c5334bf010f1b4d31b23b9e38c80fb2f3ad7ecb",
        ),
    ];
    for (input, id) in cases {
        let schematic = Schematic::from_yaml(input).unwrap();
        assert_eq!(schematic.id().to_string(), id, "input {input}");
    }
}
