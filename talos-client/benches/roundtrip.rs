//! Loopback round trips over real mutual TLS against the simulated cluster (`sim`):
//! `cargo bench -p talos-client --bench roundtrip`.

#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use support::{NODE, client, configure_tailscale, one_node, start};
use talos_client::resources::ExtensionStatus;

fn roundtrips(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(async {
        let sim = start(one_node()).await;
        // ext-tailscale runs (and logs) once it has its configuration.
        configure_tailscale(&sim, &["TS_ACCEPT_DNS=false"]).await;
        sim
    });
    let client = client(&sim, &["os:admin"]);
    let node = client.node(NODE);
    // Connect once; the benchmarks measure calls on an open channel.
    runtime.block_on(node.version()).unwrap();

    c.bench_function("version (unary, node-routed)", |b| {
        b.iter(|| runtime.block_on(node.version()).unwrap());
    });
    c.bench_function("list ExtensionStatuses (COSI stream, typed)", |b| {
        b.iter(|| runtime.block_on(node.list::<ExtensionStatus>()).unwrap());
    });
    c.bench_function("logs (stream, line splitting)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let lines = node.logs("ext-tailscale", false, None).await.unwrap();
                support::collect(lines).await
            })
        });
    });
}

criterion_group!(benches, roundtrips);
criterion_main!(benches);
