//! Benchmarks of the offline hot path: parsing a schematic, writing its canonical text and
//! hashing it, for a typical rollout schematic and for the facts doc's everything-set one.
//!
//! Run with `cargo bench -p factory-client --bench schematic`.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use factory_client::Schematic;

/// What a rollout builds: current extensions plus tailscale and one kernel argument.
const TYPICAL: &str = "customization:
  extraKernelArgs: [net.ifnames=0]
  systemExtensions:
    officialExtensions: [siderolabs/i915, siderolabs/mei, siderolabs/tailscale]
";

/// Every customization field, a literal block and nested overlay options.
const FULL: &str = r#"
overlay:
  image: siderolabs/sbc-raspberrypi
  name: rpi_generic
  options: {configTxtAppend: dtoverlay=vc4-kms-v3d, a10: x, a2: "y", A: z, b: 1, nested: {z: 1.0, "y": [0x1, "2", true]}}
customization:
  embeddedMachineConfiguration: "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: my-custom-hostname\nauto: off\n"
  extraKernelArgs: ["console=ttyS0,115200n8", net.ifnames=0]
  meta: [{key: 0x0a, value: "{}"}]
  systemExtensions: {officialExtensions: [siderolabs/iscsi-tools]}
  bootloader: sd-boot
  secureboot: {enrollKeys: if-safe, includeWellKnownCertificates: true}
  diskImage: {sectorSize: 4096}
"#;

fn bench(c: &mut Criterion) {
    for (name, input) in [("typical", TYPICAL), ("full", FULL)] {
        let schematic = Schematic::from_yaml(input).unwrap();
        c.bench_function(&format!("parse/{name}"), |b| {
            b.iter(|| Schematic::from_yaml(std::hint::black_box(input)).unwrap());
        });
        c.bench_function(&format!("canonical/{name}"), |b| {
            b.iter(|| std::hint::black_box(&schematic).to_canonical_yaml());
        });
        c.bench_function(&format!("id/{name}"), |b| {
            b.iter(|| std::hint::black_box(&schematic).id());
        });
    }
    // The figure `cargo xtask bench` reports: a typical rollout schematic, parsed once,
    // canonicalised and hashed per iteration.
    let typical = Schematic::from_yaml(TYPICAL).unwrap();
    let mut group = c.benchmark_group("schematic");
    group.throughput(Throughput::Elements(1));
    group.bench_function("canonical_id", |b| {
        b.iter(|| {
            let schematic = std::hint::black_box(&typical);
            (schematic.to_canonical_yaml(), schematic.id())
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
