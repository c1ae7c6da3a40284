//! Parsing a large tailnet's device list (`GET /tailnet/{tailnet}/devices?fields=all`):
//! the fixture's devices repeated to 10 000 entries, decoded into `Device`s.
//!
//! Run with `cargo bench -p tailscale-client --bench devices`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use tailscale_client::Device;

const DEVICES: usize = 10_000;

/// The `devices` array of the list fixture, repeated (with distinct IDs) to `count` entries.
fn device_list(count: usize) -> String {
    let fixture: Value =
        serde_json::from_str(include_str!("../tests/fixtures/devices_list.json")).unwrap();
    let samples = fixture["devices"].as_array().unwrap();
    let devices: Vec<Value> = (0..count)
        .map(|i| {
            let mut device = samples[i % samples.len()].clone();
            device["id"] = Value::String(format!("{}", 90_000_000_000_u64 + i as u64));
            device["hostname"] = Value::String(format!("talos-node-{i}"));
            device
        })
        .collect();
    serde_json::to_string(&devices).unwrap()
}

fn bench(c: &mut Criterion) {
    let text = device_list(DEVICES);
    let mut group = c.benchmark_group("tailnet");
    group.throughput(Throughput::Elements(DEVICES as u64));
    group.sample_size(20);
    group.bench_with_input(
        BenchmarkId::new("device_list_parse", DEVICES),
        &text,
        |b, text| b.iter(|| serde_json::from_str::<Vec<Device>>(black_box(text)).unwrap()),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
