//! The fake node's machine, image, lifecycle and cluster services.

use std::pin::Pin;

use futures::Stream;
use talos_client::proto::cluster::{self, cluster_service_server::ClusterService};
use talos_client::proto::common;
use talos_client::proto::machine::{
    self as wire, image_service_server::ImageService, lifecycle_service_server::LifecycleService,
    machine_service_server::MachineService,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{ADMIN, Broadcast, FakeNode, OPERATE, READ};

type Out<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn stream_of<T: Send + 'static>(items: Vec<Result<T, Status>>) -> Out<T> {
    Box::pin(futures::stream::iter(items))
}

fn data(bytes: &[u8]) -> common::Data {
    common::Data {
        metadata: None,
        bytes: bytes.to_vec(),
    }
}

/// Streams `prefix` then live items from `live`, until the connection is "cut".
pub(super) fn live<T, F>(node: &FakeNode, prefix: Vec<T>, mut live: F) -> Out<T>
where
    T: Send + 'static,
    F: FnMut(Broadcast) -> Option<T> + Send + 'static,
{
    let mut receiver = node.subscribe();
    let (sender, out) = mpsc::channel(64);
    let end_cleanly = node.abrupt_reboot();
    tokio::spawn(async move {
        for item in prefix {
            if sender.send(Ok(item)).await.is_err() {
                return;
            }
        }
        while let Ok(message) = receiver.recv().await {
            if matches!(message, Broadcast::Cut) {
                if end_cleanly {
                    return;
                }
                let _ = sender
                    .send(Err(Status::unavailable("error reading from server: EOF")))
                    .await;
                return;
            }
            if let Some(item) = live(message)
                && sender.send(Ok(item)).await.is_err()
            {
                return;
            }
        }
    });
    Box::pin(ReceiverStream::new(out))
}

#[tonic::async_trait]
impl MachineService for FakeNode {
    async fn apply_configuration(
        &self,
        request: Request<wire::ApplyConfigurationRequest>,
    ) -> Result<Response<wire::ApplyConfigurationResponse>, Status> {
        self.enter(
            &request,
            "/machine.MachineService/ApplyConfiguration",
            ADMIN,
        )?;
        let message = request.into_inner();
        if !message.data.starts_with(b"version: v1alpha1") {
            return Err(Status::invalid_argument(
                "the config must contain a v1alpha1 document: did you mean to patch the machine config instead?",
            ));
        }
        let mut state = self.state();
        state
            .applied
            .push((message.data.clone(), message.mode, message.dry_run));
        let (mode, details) = if message.dry_run {
            (
                message.mode,
                "Dry run summary:\n+ environment change".to_owned(),
            )
        } else {
            state.config.machine_config = message.data;
            (
                wire::apply_configuration_request::Mode::NoReboot.into(),
                "Applied configuration without a reboot".to_owned(),
            )
        };
        Ok(Response::new(wire::ApplyConfigurationResponse {
            messages: vec![wire::ApplyConfiguration {
                metadata: None,
                warnings: vec!["machine.install.image is deprecated in this test".to_owned()],
                mode,
                mode_details: details,
            }],
        }))
    }

    async fn etcd_member_list(
        &self,
        request: Request<wire::EtcdMemberListRequest>,
    ) -> Result<Response<wire::EtcdMemberListResponse>, Status> {
        self.enter(&request, "/machine.MachineService/EtcdMemberList", READ)?;
        let member = |id: u64, hostname: &str| wire::EtcdMember {
            id,
            hostname: hostname.to_owned(),
            peer_urls: vec![format!("https://{hostname}:2380")],
            client_urls: vec![format!("https://{hostname}:2379")],
            is_learner: false,
        };
        Ok(Response::new(wire::EtcdMemberListResponse {
            messages: vec![wire::EtcdMembers {
                metadata: None,
                legacy_members: vec![],
                members: vec![member(11, "cp-1"), member(22, "cp-2")],
            }],
        }))
    }

    async fn etcd_status(
        &self,
        request: Request<()>,
    ) -> Result<Response<wire::EtcdStatusResponse>, Status> {
        self.enter(&request, "/machine.MachineService/EtcdStatus", READ)?;
        Ok(Response::new(wire::EtcdStatusResponse {
            messages: vec![wire::EtcdStatus {
                metadata: None,
                member_status: Some(wire::EtcdMemberStatus {
                    member_id: 22,
                    leader: 11,
                    db_size: 4096,
                    raft_index: 7,
                    raft_term: 3,
                    ..Default::default()
                }),
            }],
        }))
    }

    type EventsStream = Out<wire::Event>;

    async fn events(
        &self,
        request: Request<wire::EventsRequest>,
    ) -> Result<Response<Self::EventsStream>, Status> {
        self.enter(&request, "/machine.MachineService/Events", READ)?;
        let message = request.into_inner();
        let actor = message.with_actor_id;
        let matches = move |event: &wire::Event| actor.is_empty() || event.actor_id == actor;
        let state = self.state();
        let log = &state.event_log;
        let replay: Vec<wire::Event> = match message.tail_events {
            n if n < 0 => log.clone(),
            n => log[log.len().saturating_sub(n as usize)..].to_vec(),
        };
        let mut prefix = vec![wire::Event::default()]; // the "hello" event
        prefix.extend(replay.into_iter().filter(|event| matches(event)));
        let stream = live(self, prefix, move |message| match message {
            Broadcast::Event(event) if matches(&event) => Some(event),
            _ => None,
        });
        drop(state);
        Ok(Response::new(stream))
    }

    type KubeconfigStream = Out<common::Data>;

    async fn kubeconfig(
        &self,
        request: Request<()>,
    ) -> Result<Response<Self::KubeconfigStream>, Status> {
        self.enter(&request, "/machine.MachineService/Kubeconfig", ADMIN)?;
        Ok(Response::new(stream_of(vec![
            Ok(data(b"\x1f\x8b\x08kube")),
            Ok(data(b"config-archive")),
        ])))
    }

    type LogsStream = Out<common::Data>;

    async fn logs(
        &self,
        request: Request<wire::LogsRequest>,
    ) -> Result<Response<Self::LogsStream>, Status> {
        self.enter(&request, "/machine.MachineService/Logs", READ)?;
        let message = request.into_inner();
        if message.namespace != "system" || message.id != "ext-tailscale" {
            return Err(Status::not_found(format!(
                "log \"{}\" was not registered",
                message.id
            )));
        }
        let log = self.state().config.tailscale_log.clone();
        let lines: Vec<&[u8]> = log.split_inclusive(|byte| *byte == b'\n').collect();
        let kept = match message.tail_lines {
            n if n < 0 => lines.concat(),
            n => lines[lines.len().saturating_sub(n as usize)..].concat(),
        };
        // Cut the log at odd places, as containerd does: chunks are not line-aligned.
        let chunks: Vec<common::Data> = kept.chunks(7).map(data).collect();
        if message.follow {
            return Ok(Response::new(live(self, chunks, |_| None)));
        }
        Ok(Response::new(stream_of(
            chunks.into_iter().map(Ok).collect(),
        )))
    }

    type ReadStream = Out<common::Data>;

    async fn read(
        &self,
        request: Request<wire::ReadRequest>,
    ) -> Result<Response<Self::ReadStream>, Status> {
        self.enter(&request, "/machine.MachineService/Read", ADMIN)?;
        let path = request.into_inner().path;
        if path != "/proc/sys/kernel/random/boot_id" {
            return Err(Status::not_found(format!(
                "open {path}: no such file or directory"
            )));
        }
        let mut state = self.state();
        let boot_id = self.read_boot_id(&mut state);
        Ok(Response::new(stream_of(vec![Ok(data(
            format!("{boot_id}\n").as_bytes(),
        ))])))
    }

    async fn reboot(
        &self,
        request: Request<wire::RebootRequest>,
    ) -> Result<Response<wire::RebootResponse>, Status> {
        self.enter(&request, "/machine.MachineService/Reboot", OPERATE)?;
        let mut state = self.state();
        let actor = self.new_actor(&mut state);
        self.go_down(&mut state, &actor);
        Ok(Response::new(wire::RebootResponse {
            messages: vec![wire::Reboot {
                metadata: None,
                actor_id: actor,
            }],
        }))
    }

    async fn rollback(
        &self,
        request: Request<wire::RollbackRequest>,
    ) -> Result<Response<wire::RollbackResponse>, Status> {
        self.enter(&request, "/machine.MachineService/Rollback", ADMIN)?;
        let mut state = self.state();
        self.go_down(&mut state, "");
        Ok(Response::new(wire::RollbackResponse {
            messages: vec![wire::Rollback { metadata: None }],
        }))
    }

    async fn service_list(
        &self,
        request: Request<()>,
    ) -> Result<Response<wire::ServiceListResponse>, Status> {
        self.enter(&request, "/machine.MachineService/ServiceList", READ)?;
        let service = |id: &str, state: &str, unknown: bool| wire::ServiceInfo {
            id: id.to_owned(),
            state: state.to_owned(),
            events: Some(wire::ServiceEvents {
                events: vec![wire::ServiceEvent {
                    msg: "Started task".to_owned(),
                    state: state.to_owned(),
                    ts: None,
                }],
            }),
            health: Some(wire::ServiceHealth {
                unknown,
                healthy: !unknown,
                last_message: String::new(),
                last_change: None,
            }),
        };
        Ok(Response::new(wire::ServiceListResponse {
            messages: vec![wire::ServiceList {
                metadata: None,
                services: vec![
                    service("ext-tailscale", "Running", true),
                    service("kubelet", "Running", false),
                ],
            }],
        }))
    }

    async fn service_restart(
        &self,
        request: Request<wire::ServiceRestartRequest>,
    ) -> Result<Response<wire::ServiceRestartResponse>, Status> {
        self.enter(&request, "/machine.MachineService/ServiceRestart", OPERATE)?;
        let id = request.into_inner().id;
        if id != "ext-tailscale" && id != "kubelet" {
            return Err(Status::not_found(format!("service {id:?} not found")));
        }
        Ok(Response::new(wire::ServiceRestartResponse {
            messages: vec![wire::ServiceRestart {
                metadata: None,
                resp: format!("Service {id:?} restarted"),
            }],
        }))
    }

    async fn upgrade(
        &self,
        request: Request<wire::UpgradeRequest>,
    ) -> Result<Response<wire::UpgradeResponse>, Status> {
        self.enter(&request, "/machine.MachineService/Upgrade", ADMIN)?;
        let image = request.into_inner().image;
        let mut state = self.state();
        let actor = self.new_actor(&mut state);
        if let Some(error) = state.config.upgrade_sequence_error.clone() {
            self.fail_sequence(&mut state, "upgrade", &error, &actor);
        } else {
            state.installed = Some(image);
            self.go_down(&mut state, &actor);
        }
        Ok(Response::new(wire::UpgradeResponse {
            messages: vec![wire::Upgrade {
                metadata: None,
                ack: "Upgrade request received".to_owned(),
                actor_id: actor,
            }],
        }))
    }

    async fn version(
        &self,
        request: Request<()>,
    ) -> Result<Response<wire::VersionResponse>, Status> {
        self.enter(&request, "/machine.MachineService/Version", READ)?;
        if self.state().config.version_hangs {
            std::future::pending::<()>().await;
        }
        let tag = self.state().config.version_tag.clone();
        Ok(Response::new(wire::VersionResponse {
            messages: vec![wire::Version {
                metadata: None,
                version: Some(wire::VersionInfo {
                    tag,
                    sha: "abc1234".to_owned(),
                    built: String::new(),
                    go_version: "go1.25".to_owned(),
                    os: "linux".to_owned(),
                    arch: "amd64".to_owned(),
                }),
                platform: Some(wire::PlatformInfo {
                    name: "metal".to_owned(),
                    mode: "metal".to_owned(),
                }),
                features: Some(wire::FeaturesInfo { rbac: true }),
            }],
        }))
    }
}

#[tonic::async_trait]
impl ImageService for FakeNode {
    type PullStream = Out<wire::ImageServicePullResponse>;

    async fn pull(
        &self,
        request: Request<wire::ImageServicePullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        if !self.state().config.lifecycle_api {
            self.state().calls.push(super::SeenCall {
                method: "/machine.ImageService/Pull".to_owned(),
                node_values: vec![],
                roles: vec![],
            });
            return Err(Status::unimplemented(
                "unknown service machine.ImageService",
            ));
        }
        self.enter(&request, "/machine.ImageService/Pull", OPERATE)?;
        let message = request.into_inner();
        let containerd = message.containerd.unwrap_or_default();
        if containerd.driver != common::ContainerDriver::Cri as i32
            || containerd.namespace != common::ContainerdNamespace::NsSystem as i32
        {
            return Err(Status::invalid_argument("unexpected containerd instance"));
        }
        let name = format!("{}@sha256:0123", message.image_ref);
        self.state().pulled.push(name.clone());
        use wire::image_service_pull_response::Response as Pull;
        let progress = |offset| wire::ImageServicePullResponse {
            response: Some(Pull::PullProgress(wire::ImageServicePullProgress {
                layer_id: "sha256:layer".to_owned(),
                progress: Some(wire::ImageServicePullLayerProgress {
                    status: 0,
                    elapsed: None,
                    offset,
                    total: 100,
                }),
            })),
        };
        if self.state().config.pull_stalls {
            return Ok(Response::new(live(self, vec![progress(50)], |_| None)));
        }
        Ok(Response::new(stream_of(vec![
            Ok(progress(50)),
            Ok(progress(100)),
            Ok(wire::ImageServicePullResponse {
                response: Some(Pull::Name(name)),
            }),
        ])))
    }
}

#[tonic::async_trait]
impl LifecycleService for FakeNode {
    type UpgradeStream = Out<wire::LifecycleServiceUpgradeResponse>;

    async fn upgrade(
        &self,
        request: Request<wire::LifecycleServiceUpgradeRequest>,
    ) -> Result<Response<Self::UpgradeStream>, Status> {
        if !self.state().config.lifecycle_api {
            return Err(Status::unimplemented(
                "unknown service machine.LifecycleService",
            ));
        }
        self.enter(&request, "/machine.LifecycleService/Upgrade", ADMIN)?;
        let image = request
            .into_inner()
            .source
            .map(|source| source.image_name)
            .unwrap_or_default();
        let mut state = self.state();
        if !state.pulled.contains(&image) {
            return Err(Status::failed_precondition(format!(
                "installer image {image} not found in containerd store"
            )));
        }
        let exit_code = state.config.installer_exit_code;
        if exit_code == 0 {
            state.installed = Some(image);
        }
        use wire::lifecycle_service_install_progress::Response as Install;
        let line = |response| wire::LifecycleServiceUpgradeResponse {
            progress: Some(wire::LifecycleServiceInstallProgress {
                response: Some(response),
            }),
        };
        Ok(Response::new(stream_of(vec![
            Ok(line(Install::Message("validating installer".to_owned()))),
            Ok(line(Install::Message("writing boot entry".to_owned()))),
            Ok(line(Install::ExitCode(exit_code))),
        ])))
    }
}

#[tonic::async_trait]
impl ClusterService for FakeNode {
    type HealthCheckStream = Out<cluster::HealthCheckProgress>;

    async fn health_check(
        &self,
        request: Request<cluster::HealthCheckRequest>,
    ) -> Result<Response<Self::HealthCheckStream>, Status> {
        self.enter(&request, "/cluster.ClusterService/HealthCheck", READ)?;
        let info = request.into_inner().cluster_info.unwrap_or_default();
        let line = |message: String| {
            Ok(cluster::HealthCheckProgress {
                metadata: None,
                message,
            })
        };
        let mut lines = vec![
            line(format!("discovered nodes: {:?}", info.control_plane_nodes)),
            line("waiting for all nodes to be ready".to_owned()),
        ];
        if info.worker_nodes.iter().any(|node| node == "unhealthy") {
            lines.push(Err(Status::deadline_exceeded(
                "node unhealthy is not ready",
            )));
        }
        Ok(Response::new(stream_of(lines)))
    }
}
