//! The fake node's COSI state service (read-only, like Talos) and its resources.

use std::pin::Pin;

use futures::Stream;
use prost::Message;
use talos_client::proto::cosi::resource::{self as wire, state_server::State as StateService};
use talos_client::proto::resource::config::MachineConfigSpec;
use talos_client::proto::talos::resource::definitions::{extensions, runtime};
use tonic::{Request, Response, Status};

use super::{ADMIN, Broadcast, FakeNode, READ, State};

/// Machine configuration type (sensitive).
pub const MACHINE_CONFIGS: &str = "MachineConfigs.config.talos.dev";
/// Boot ID type (Talos 1.14+).
pub const BOOT_IDS: &str = "BootIDs.runtime.talos.dev";
const EXTENSION_STATUSES: &str = "ExtensionStatuses.runtime.talos.dev";
const MACHINE_STATUSES: &str = "MachineStatuses.runtime.talos.dev";
const ESCS: &str = "ExtensionServiceConfigs.runtime.talos.dev";
const KERNEL_PARAMS: &str = "KernelParamStatuses.runtime.talos.dev";

/// The schematic ID of the fake node's image.
pub const SCHEMATIC_ID: &str = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

type Out<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn resource(
    namespace: &str,
    kind: &str,
    id: &str,
    version: u64,
    spec: &impl Message,
) -> wire::Resource {
    wire::Resource {
        metadata: Some(wire::Metadata {
            namespace: namespace.to_owned(),
            r#type: kind.to_owned(),
            id: id.to_owned(),
            version: version.to_string(),
            phase: "running".to_owned(),
            ..Default::default()
        }),
        spec: Some(wire::Spec {
            proto_spec: spec.encode_to_vec(),
            yaml_spec: format!("# yaml form of {kind}/{id}\n"),
        }),
    }
}

fn layer(image: &str, name: &str, version: &str, author: &str) -> extensions::Layer {
    extensions::Layer {
        image: image.to_owned(),
        metadata: Some(extensions::Metadata {
            name: name.to_owned(),
            version: version.to_owned(),
            author: author.to_owned(),
            description: String::new(),
            compatibility: None,
            extra_info: String::new(),
        }),
    }
}

/// Puts the static resources in place.
pub fn seed(state: &mut State) {
    let mut put = |resource: wire::Resource| {
        let metadata = resource.metadata.clone().unwrap_or_default();
        state
            .resources
            .insert((metadata.namespace, metadata.r#type, metadata.id), resource);
    };
    put(resource(
        "runtime",
        EXTENSION_STATUSES,
        "0",
        1,
        &layer("0.sqsh", "tailscale", "1.102.2", "Sidero Labs"),
    ));
    put(resource(
        "runtime",
        EXTENSION_STATUSES,
        "1",
        1,
        &layer(
            "1.sqsh",
            "schematic",
            SCHEMATIC_ID,
            "Image Factory (https://factory.talos.dev)",
        ),
    ));
    put(resource(
        "runtime",
        ESCS,
        "tailscale",
        4,
        &runtime::ExtensionServiceConfigSpec {
            files: vec![],
            environment: vec!["TS_AUTHKEY=tskey-secret".to_owned()],
        },
    ));
    put(resource(
        "runtime",
        "ExtensionServiceConfigStatuses.runtime.talos.dev",
        "tailscale",
        2,
        &runtime::ExtensionServiceConfigStatusSpec {
            spec_version: "4".to_owned(),
        },
    ));
    put(resource(
        "runtime",
        KERNEL_PARAMS,
        "proc.sys.net.ipv4.ip_forward",
        1,
        &runtime::KernelParamStatusSpec {
            current: "1".to_owned(),
            default: "0".to_owned(),
            unsupported: false,
        },
    ));
}

/// Resources computed from the node's live state.
fn live(node: &FakeNode, state: &mut State, namespace: &str, kind: &str) -> Vec<wire::Resource> {
    match (namespace, kind) {
        ("config", MACHINE_CONFIGS) => vec![resource(
            "config",
            MACHINE_CONFIGS,
            "v1alpha1",
            u64::from(state.boots),
            &MachineConfigSpec {
                yaml_marshalled: state.config.machine_config.clone(),
            },
        )],
        ("runtime", BOOT_IDS) => {
            let boot_id = node.read_boot_id(state);
            vec![resource(
                "runtime",
                BOOT_IDS,
                "boot-id",
                1,
                &runtime::BootIdSpec { boot_id },
            )]
        }
        ("runtime", MACHINE_STATUSES) => vec![resource(
            "runtime",
            MACHINE_STATUSES,
            "machine",
            3,
            &runtime::MachineStatusSpec {
                stage: 4,
                status: Some(runtime::MachineStatusStatus {
                    ready: true,
                    unmet_conditions: vec![],
                }),
            },
        )],
        _ => state
            .resources
            .values()
            .filter(|resource| {
                resource.metadata.as_ref().is_some_and(|metadata| {
                    metadata.namespace == namespace && metadata.r#type == kind
                })
            })
            .cloned()
            .collect(),
    }
}

/// Which roles may read `kind`; `None` for types this node does not register.
fn readers(state: &State, kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        MACHINE_CONFIGS | ESCS => Some(ADMIN),
        BOOT_IDS if !state.config.boot_id_resource => None,
        _ => Some(READ),
    }
}

impl FakeNode {
    /// Authorizes a COSI read like Talos: unregistered types and sensitive types without
    /// admin are `PermissionDenied`.
    fn read_resources<T>(
        &self,
        request: &Request<T>,
        method: &str,
        namespace: &str,
        kind: &str,
    ) -> Result<Vec<wire::Resource>, Status> {
        self.enter(request, method, READ)?;
        let roles = sim::mtls::peer_roles(request);
        let mut state = self.state();
        let allowed = readers(&state, kind).ok_or_else(|| {
            Status::permission_denied(format!("resource type {kind:?} is not registered"))
        })?;
        if !roles.iter().any(|role| allowed.contains(&role.as_str())) {
            return Err(Status::permission_denied("not authorized"));
        }
        Ok(live(self, &mut state, namespace, kind))
    }

    /// Replaces a resource and notifies watchers.
    pub fn update_resource(&self, resource: wire::Resource) {
        let metadata = resource.metadata.clone().unwrap_or_default();
        let old = self.state().resources.insert(
            (metadata.namespace, metadata.r#type, metadata.id),
            resource.clone(),
        );
        let _ = self
            .subscribe_sender()
            .send(Broadcast::Cosi(Box::new(wire::Event {
                resource: Some(resource),
                event_type: wire::EventType::Updated.into(),
                old,
                error: None,
                bookmark: None,
            })));
    }

    fn subscribe_sender(&self) -> &tokio::sync::broadcast::Sender<Broadcast> {
        &self.broadcast
    }
}

#[tonic::async_trait]
impl StateService for FakeNode {
    async fn get(
        &self,
        request: Request<wire::GetRequest>,
    ) -> Result<Response<wire::GetResponse>, Status> {
        let (namespace, kind, id) = {
            let message = request.get_ref();
            (
                message.namespace.clone(),
                message.r#type.clone(),
                message.id.clone(),
            )
        };
        let resources =
            self.read_resources(&request, "/cosi.resource.State/Get", &namespace, &kind)?;
        let found = resources
            .into_iter()
            .find(|resource| {
                resource
                    .metadata
                    .as_ref()
                    .is_some_and(|metadata| metadata.id == id)
            })
            .ok_or_else(|| Status::not_found(format!("resource {kind}/{id} doesn't exist")))?;
        Ok(Response::new(wire::GetResponse {
            resource: Some(found),
        }))
    }

    type ListStream = Out<wire::ListResponse>;

    async fn list(
        &self,
        request: Request<wire::ListRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        let (namespace, kind) = (
            request.get_ref().namespace.clone(),
            request.get_ref().r#type.clone(),
        );
        let resources =
            self.read_resources(&request, "/cosi.resource.State/List", &namespace, &kind)?;
        let items: Vec<_> = resources
            .into_iter()
            .map(|resource| {
                Ok(wire::ListResponse {
                    resource: Some(resource),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(items))))
    }

    type WatchStream = Out<wire::WatchResponse>;

    async fn watch(
        &self,
        request: Request<wire::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let message = request.get_ref().clone();
        let resources = self.read_resources(
            &request,
            "/cosi.resource.State/Watch",
            &message.namespace,
            &message.r#type,
        )?;
        let id = message.id.clone();
        let wanted = move |resource: &wire::Resource| {
            id.as_ref().is_none_or(|id| {
                resource
                    .metadata
                    .as_ref()
                    .is_some_and(|metadata| &metadata.id == id)
            })
        };
        let event = |resource, event_type: wire::EventType| wire::Event {
            resource,
            event_type: event_type.into(),
            old: None,
            error: None,
            bookmark: None,
        };
        let mut initial: Vec<wire::Event> = resources
            .into_iter()
            .filter(|resource| wanted(resource))
            .map(|resource| event(Some(resource), wire::EventType::Created))
            .collect();
        if message.id.is_none()
            && message
                .options
                .is_some_and(|options| options.bootstrap_contents)
        {
            initial.push(event(None, wire::EventType::Bootstrapped));
        }
        let prefix = vec![
            wire::WatchResponse { event: vec![] }, // "ready"
            wire::WatchResponse { event: initial },
        ];
        Ok(Response::new(super::machine::live(
            self,
            prefix,
            move |broadcast| match broadcast {
                Broadcast::Cosi(event) if event.resource.as_ref().is_some_and(&wanted) => {
                    Some(wire::WatchResponse {
                        event: vec![*event],
                    })
                }
                _ => None,
            },
        )))
    }
}
