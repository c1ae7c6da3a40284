//! An in-process Talos node for the integration tests: the generated server stubs served
//! over real mutual TLS (sim's Ed25519 PKI), enforcing roles from the peer certificate,
//! recording the `node` metadata of every call, and rebooting like a real node (events,
//! `Unavailable` while down, a new boot ID, events buffer lost).
//!
//! Time never drives it: a rebooting node stays down for a fixed number of incoming calls.

#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

mod cosi;
mod machine;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use prost::Message;
use secrecy::ExposeSecret;
use sim::mtls::ServerHandle;
use sim::pki::{LOOPBACK_SANS, Pki};
use talos_client::TalosClient;
use talos_client::identity::ClientIdentity;
use talos_client::proto::cosi::resource as cosi_wire;
use talos_client::proto::machine as wire;
use tokio::sync::broadcast;

#[allow(unused_imports)]
pub use cosi::{BOOT_IDS, MACHINE_CONFIGS, SCHEMATIC_ID};

/// What the fake node is like.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// `Version.tag`.
    pub version_tag: String,
    /// ImageService/LifecycleService exist (Talos 1.13+).
    pub lifecycle_api: bool,
    /// `BootIDs.runtime.talos.dev` is registered (Talos 1.14+).
    pub boot_id_resource: bool,
    /// Exit code the installer reports.
    pub installer_exit_code: i32,
    /// Calls answered `Unavailable` after going down, before the node is back.
    pub down_for_calls: u32,
    /// After coming back, boot-ID reads that still return the old ID.
    pub stale_boot_id_reads: u32,
    /// The machine configuration bytes.
    pub machine_config: Vec<u8>,
    /// The log of `ext-tailscale`.
    pub tailscale_log: Vec<u8>,
    /// `Version` never answers (a hung node).
    pub version_hangs: bool,
    /// The legacy upgrade's background `upgrade` sequence fails with this message
    /// (for example failed etcd checks) and the node does not reboot.
    pub upgrade_sequence_error: Option<String>,
    /// `ImageService.Pull` reports some progress, then stalls.
    pub pull_stalls: bool,
    /// Reboots are abrupt (power cycle, kernel panic): no going-down events, and open
    /// streams simply end (EOF) instead of failing with `Unavailable`.
    pub abrupt_reboot: bool,
    /// A last "running and ready" status of the old boot arrives after the reboot was
    /// accepted, before the node goes down.
    pub ready_before_going_down: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            version_tag: "v1.13.2".to_owned(),
            lifecycle_api: true,
            boot_id_resource: true,
            installer_exit_code: 0,
            down_for_calls: 3,
            stale_boot_id_reads: 0,
            machine_config: b"version: v1alpha1\nmachine:\n  type: worker\n---\napiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: tailscale\nenvironment:\n  - TS_AUTHKEY=tskey-secret\n".to_vec(),
            tailscale_log: b"boot: starting containerboot\nauth: logged in\nroutes: advertised 10.0.0.0/24\n".to_vec(),
            version_hangs: false,
            upgrade_sequence_error: None,
            pull_stalls: false,
            abrupt_reboot: false,
            ready_before_going_down: false,
        }
    }
}

/// One call as the node saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenCall {
    /// gRPC method path.
    pub method: String,
    /// Every value of the `node` metadata key.
    pub node_values: Vec<String>,
    /// Roles of the peer certificate.
    pub roles: Vec<String>,
}

/// Mutable node state.
#[derive(Debug)]
pub struct State {
    pub config: NodeConfig,
    pub boot_id: String,
    pub boots: u32,
    pub down_remaining: Option<u32>,
    pub stale_reads_remaining: u32,
    pub event_log: Vec<wire::Event>,
    pub next_event: u64,
    pub calls: Vec<SeenCall>,
    pub pulled: Vec<String>,
    pub installed: Option<String>,
    pub applied: Vec<(Vec<u8>, i32, bool)>,
    pub resources: BTreeMap<(String, String, String), cosi_wire::Resource>,
    pub actions: u32,
}

/// Messages to open streams: a new event, or "the connection is gone".
#[derive(Debug, Clone)]
pub enum Broadcast {
    Event(wire::Event),
    Cosi(Box<cosi_wire::Event>),
    Cut,
}

/// The fake node; cheap to clone (shared state).
#[derive(Clone)]
pub struct FakeNode {
    state: Arc<Mutex<State>>,
    broadcast: broadcast::Sender<Broadcast>,
    /// Copied from the config: read by streams without taking the state lock.
    abrupt_reboot: bool,
}

impl FakeNode {
    pub fn new(config: NodeConfig) -> Self {
        let (broadcast, _) = broadcast::channel(1024);
        let node = Self {
            abrupt_reboot: config.abrupt_reboot,
            state: Arc::new(Mutex::new(State {
                boot_id: "boot-1".to_owned(),
                boots: 1,
                down_remaining: None,
                stale_reads_remaining: 0,
                event_log: Vec::new(),
                next_event: 0,
                calls: Vec::new(),
                pulled: Vec::new(),
                installed: None,
                applied: Vec::new(),
                resources: BTreeMap::new(),
                actions: 0,
                config,
            })),
            broadcast,
        };
        {
            let mut state = node.state();
            cosi::seed(&mut state);
            node.boot_events(&mut state);
        }
        node
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Broadcast> {
        self.broadcast.subscribe()
    }

    /// Whether reboots are abrupt (see [`NodeConfig::abrupt_reboot`]).
    pub fn abrupt_reboot(&self) -> bool {
        self.abrupt_reboot
    }

    /// Every call seen so far.
    pub fn calls(&self) -> Vec<SeenCall> {
        self.state().calls.clone()
    }

    /// Methods called so far, in order.
    pub fn methods(&self) -> Vec<String> {
        self.calls().into_iter().map(|call| call.method).collect()
    }

    /// Common prologue of every handler: record, authorize, refuse while down.
    pub fn enter<T>(
        &self,
        request: &tonic::Request<T>,
        method: &str,
        allowed: &[&str],
    ) -> Result<(), tonic::Status> {
        let roles = sim::mtls::peer_roles(request);
        let node_values = request
            .metadata()
            .get_all("node")
            .iter()
            .map(|value| value.to_str().unwrap_or("<binary>").to_owned())
            .collect();
        let mut state = self.state();
        state.calls.push(SeenCall {
            method: method.to_owned(),
            node_values,
            roles: roles.clone(),
        });
        if let Some(remaining) = state.down_remaining {
            if remaining <= 1 {
                self.come_up(&mut state);
            } else {
                state.down_remaining = Some(remaining - 1);
            }
            return Err(tonic::Status::unavailable(
                "connection error: desc = \"transport: Error while dialing: dial tcp: connect: connection refused\"",
            ));
        }
        if !roles.iter().any(|role| allowed.contains(&role.as_str())) {
            return Err(tonic::Status::permission_denied("not authorized"));
        }
        Ok(())
    }

    /// Appends an event to the buffer and sends it to open streams.
    pub fn emit(&self, state: &mut State, type_name: &str, payload: impl Message, actor: &str) {
        state.next_event += 1;
        let event = wire::Event {
            metadata: None,
            data: Some(prost_types::Any {
                type_url: format!("talos/runtime/{type_name}"),
                value: payload.encode_to_vec(),
            }),
            id: format!("ev{:08}", state.next_event),
            actor_id: actor.to_owned(),
        };
        state.event_log.push(event.clone());
        let _ = self.broadcast.send(Broadcast::Event(event));
    }

    /// A sequence run by `actor` that stops with `error`, as Talos reports a failure.
    pub fn fail_sequence(&self, state: &mut State, sequence: &str, error: &str, actor: &str) {
        use wire::sequence_event::Action;
        for (action, error) in [
            (Action::Start, None),
            (
                Action::Stop,
                Some(talos_client::proto::common::Error {
                    code: talos_client::proto::common::Code::Fatal.into(),
                    message: error.to_owned(),
                    details: vec![],
                }),
            ),
        ] {
            let event = wire::SequenceEvent {
                sequence: sequence.to_owned(),
                action: action.into(),
                error,
            };
            self.emit(state, "machine.SequenceEvent", event, actor);
        }
    }

    /// Starts a reboot: going-down events, then the node stops answering.
    pub fn go_down(&self, state: &mut State, actor: &str) {
        if state.config.ready_before_going_down {
            self.emit_running_and_ready(state);
        }
        state.down_remaining = Some(state.config.down_for_calls.max(1));
        if !self.abrupt_reboot {
            self.announce_going_down(state, actor);
        }
        let _ = self.broadcast.send(Broadcast::Cut);
    }

    /// The events Talos sends before a reboot: the `reboot` sequence, `stopAllServices`.
    fn announce_going_down(&self, state: &mut State, actor: &str) {
        self.emit(
            state,
            "machine.SequenceEvent",
            wire::SequenceEvent {
                sequence: "reboot".to_owned(),
                action: wire::sequence_event::Action::Start.into(),
                error: None,
            },
            actor,
        );
        self.emit(
            state,
            "machine.TaskEvent",
            wire::TaskEvent {
                task: "stopAllServices".to_owned(),
                action: wire::task_event::Action::Start.into(),
            },
            actor,
        );
    }

    /// The node has rebooted: new boot ID, new events buffer, installed image active.
    fn come_up(&self, state: &mut State) {
        state.down_remaining = None;
        state.boots += 1;
        state.boot_id = format!("boot-{}", state.boots);
        state.stale_reads_remaining = state.config.stale_boot_id_reads;
        state.event_log.clear();
        if let Some(image) = state.installed.take() {
            let reference = image.split('@').next().unwrap_or(&image);
            if let Some((_, tag)) = reference.rsplit_once(':') {
                state.config.version_tag = tag.to_owned();
            }
        }
        self.boot_events(state);
    }

    fn boot_events(&self, state: &mut State) {
        use wire::machine_status_event::{MachineStage, MachineStatus};
        self.emit(
            state,
            "machine.MachineStatusEvent",
            wire::MachineStatusEvent {
                stage: MachineStage::Booting.into(),
                status: Some(MachineStatus {
                    ready: false,
                    unmet_conditions: vec![],
                }),
            },
            "",
        );
        self.emit(
            state,
            "machine.ServiceStateEvent",
            wire::ServiceStateEvent {
                service: "ext-tailscale".to_owned(),
                action: wire::service_state_event::Action::Running.into(),
                message: "Started task ext-tailscale".to_owned(),
                health: None,
            },
            "",
        );
        self.emit_running_and_ready(state);
    }

    fn emit_running_and_ready(&self, state: &mut State) {
        use wire::machine_status_event::{MachineStage, MachineStatus};
        self.emit(
            state,
            "machine.MachineStatusEvent",
            wire::MachineStatusEvent {
                stage: MachineStage::Running.into(),
                status: Some(MachineStatus {
                    ready: true,
                    unmet_conditions: vec![],
                }),
            },
            "",
        );
    }

    /// The boot ID as a reader sees it (possibly still the old one right after boot).
    pub fn read_boot_id(&self, state: &mut State) -> String {
        if state.stale_reads_remaining > 0 {
            state.stale_reads_remaining -= 1;
            return format!("boot-{}", state.boots - 1);
        }
        state.boot_id.clone()
    }

    pub fn new_actor(&self, state: &mut State) -> String {
        state.actions += 1;
        format!("actor-{}", state.actions)
    }
}

/// Roles Talos accepts for read-only calls.
pub const READ: &[&str] = &["os:admin", "os:operator", "os:reader"];
/// Roles Talos accepts for operational calls.
pub const OPERATE: &[&str] = &["os:admin", "os:operator"];
/// Admin only.
pub const ADMIN: &[&str] = &["os:admin"];

/// A fake node served over mTLS on loopback, with the PKI that signed everything.
pub struct Harness {
    pub pki: Pki,
    pub node: FakeNode,
    pub server: ServerHandle,
}

impl Harness {
    pub async fn start(config: NodeConfig) -> Self {
        let pki = Pki::generate().unwrap();
        let node = FakeNode::new(config);
        let server = serve(&pki, &node).await;
        Self { pki, node, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// A client identity with `roles`, as a talosconfig would carry it.
    pub fn identity(&self, roles: &[&str]) -> ClientIdentity {
        identity(&self.pki, roles)
    }

    /// A client for this node with `roles`.
    pub fn client(&self, roles: &[&str]) -> TalosClient {
        self.client_via(&[self.addr()], roles)
    }

    /// A client with `roles` and an identity of this PKI, using `endpoints` in order.
    pub fn client_via(&self, endpoints: &[SocketAddr], roles: &[&str]) -> TalosClient {
        TalosClient::builder()
            .endpoints(endpoints.iter().map(SocketAddr::to_string))
            .identity(self.identity(roles))
            .build()
            .unwrap()
    }

    /// Another endpoint of the same cluster (same CA), serving its own fake node.
    pub async fn another_endpoint(&self, config: NodeConfig) -> (FakeNode, ServerHandle) {
        let node = FakeNode::new(config);
        let server = serve(&self.pki, &node).await;
        (node, server)
    }
}

/// A loopback address nothing listens on (a port that was just free).
pub fn dead_endpoint() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// An identity signed by `pki` carrying `roles`.
pub fn identity(pki: &Pki, roles: &[&str]) -> ClientIdentity {
    let issued = pki.issue_client(roles).unwrap();
    ClientIdentity::from_pem(
        pki.ca_pem().as_bytes(),
        issued.cert_pem.as_bytes(),
        issued.key_pem.expose_secret().as_bytes(),
    )
    .unwrap()
}

/// Serves `node` with a server certificate of `pki`.
pub async fn serve(pki: &Pki, node: &FakeNode) -> ServerHandle {
    use talos_client::proto::cluster::cluster_service_server::ClusterServiceServer;
    use talos_client::proto::cosi::resource::state_server::StateServer;
    use talos_client::proto::machine::image_service_server::ImageServiceServer;
    use talos_client::proto::machine::lifecycle_service_server::LifecycleServiceServer;
    use talos_client::proto::machine::machine_service_server::MachineServiceServer;

    let routes = tonic::service::Routes::new(MachineServiceServer::new(node.clone()))
        .add_service(ImageServiceServer::new(node.clone()))
        .add_service(LifecycleServiceServer::new(node.clone()))
        .add_service(ClusterServiceServer::new(node.clone()))
        .add_service(StateServer::new(node.clone()));
    sim::mtls::serve(routes, pki.server_config(LOOPBACK_SANS).unwrap())
        .await
        .unwrap()
}

/// Collects a stream of results into a vector, failing on the first error.
pub async fn collect<T>(
    stream: futures::stream::BoxStream<'static, Result<T, talos_client::Error>>,
) -> Vec<T> {
    use futures::TryStreamExt;
    stream.try_collect().await.unwrap()
}
