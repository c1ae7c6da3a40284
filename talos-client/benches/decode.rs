//! Decoding throughput of the two streams a rollout reads most, from the bytes each
//! message arrives as to typed values: a COSI `List` of 10,000 `ExtensionStatus` resources
//! and 100,000 `Events` messages (`cargo bench -p talos-client --bench decode`). Transport
//! costs are in the `roundtrip` bench; `cargo xtask bench` reports these as items/s.

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use talos_client::machine::MachineEvent;
use talos_client::proto::cosi::resource as cosi;
use talos_client::proto::machine::{Event, ServiceStateEvent, service_state_event};
use talos_client::proto::talos::resource::definitions::extensions::{Layer, Metadata};
use talos_client::resources::{ExtensionStatus, RawResource, Resource};

const RESOURCES: usize = 10_000;
const EVENTS: usize = 100_000;

/// One `ListResponse` message per extension, encoded as the stream delivers it.
fn list_messages() -> Vec<Vec<u8>> {
    (0..RESOURCES)
        .map(|index| {
            let layer = Layer {
                image: format!("{index:03}-tailscale.sqsh"),
                metadata: Some(Metadata {
                    name: format!("extension-{index}"),
                    version: "1.82.5".to_owned(),
                    author: "Sidero Labs".to_owned(),
                    description: "A system extension".to_owned(),
                    ..Metadata::default()
                }),
            };
            let resource = cosi::Resource {
                metadata: Some(cosi::Metadata {
                    namespace: "runtime".to_owned(),
                    r#type: "ExtensionStatuses.runtime.talos.dev".to_owned(),
                    id: index.to_string(),
                    version: "1".to_owned(),
                    owner: "runtime.ExtensionStatusController".to_owned(),
                    phase: "running".to_owned(),
                    ..cosi::Metadata::default()
                }),
                spec: Some(cosi::Spec {
                    proto_spec: layer.encode_to_vec(),
                    yaml_spec: format!("image: {index:03}-tailscale.sqsh\n"),
                }),
            };
            cosi::ListResponse {
                resource: Some(resource),
            }
            .encode_to_vec()
        })
        .collect()
}

/// `Events` messages as they arrive: service state changes wrapped in `Any`.
fn event_messages() -> Vec<Vec<u8>> {
    (0..EVENTS)
        .map(|index| {
            let payload = ServiceStateEvent {
                service: "ext-tailscale".to_owned(),
                action: service_state_event::Action::Running as i32,
                message: "Service started as goroutine".to_owned(),
                health: None,
            };
            Event {
                metadata: None,
                data: Some(prost_types::Any {
                    type_url: "talos/runtime/machine.ServiceStateEvent".to_owned(),
                    value: payload.encode_to_vec(),
                }),
                id: format!("d4f5{index:016x}"),
                actor_id: String::new(),
            }
            .encode_to_vec()
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    let list = list_messages();
    let mut cosi_group = c.benchmark_group("cosi");
    cosi_group.throughput(Throughput::Elements(RESOURCES as u64));
    cosi_group.bench_with_input(
        BenchmarkId::new("list_decode", RESOURCES),
        &list,
        |b, list| {
            b.iter(|| {
                list.iter()
                    .map(|bytes| {
                        let response = cosi::ListResponse::decode(bytes.as_slice()).unwrap();
                        let raw = RawResource::from_wire(response.resource.unwrap());
                        Resource::<ExtensionStatus>::from_raw(raw).unwrap()
                    })
                    .count()
            });
        },
    );
    cosi_group.finish();

    let events = event_messages();
    let mut events_group = c.benchmark_group("events");
    events_group.throughput(Throughput::Elements(EVENTS as u64));
    events_group.sample_size(20);
    events_group.bench_with_input(BenchmarkId::new("decode", EVENTS), &events, |b, events| {
        b.iter(|| {
            events
                .iter()
                .filter_map(|bytes| {
                    let event = Event::decode(bytes.as_slice()).unwrap();
                    MachineEvent::from_wire(event, Some("10.5.0.2")).unwrap()
                })
                .count()
        });
    });
    events_group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
