//! `machine.MachineService`: version, configuration, upgrade, reboot, rollback, services,
//! logs, files, events, etcd and kubeconfig.

use std::sync::Arc;
use std::time::Duration;

use talos_client::machine_config::ExtensionServiceConfig;
use talos_client::methods;
use talos_client::proto::common;
use talos_client::proto::machine::{
    self, apply_configuration_request::Mode, machine_service_server::MachineService,
};
use tonic::{Request, Response, Status};

use super::{Apid, Call};
use crate::talos::cluster::ClusterContext;
use crate::talos::config::{self, ApplyPlan};
use crate::talos::extension_services;
use crate::talos::lifecycle::{self, Sequence};
use crate::talos::node::Node;
use crate::talos::rbac::Access;
use crate::talos::services::{Outcome, ServiceState};
use crate::talos::streams::{self, GrpcStream};
use crate::talos::{events_stream, images, kubeconfig, logs};

/// How long a TRY apply lasts when the request gives no timeout (Talos: one minute).
const DEFAULT_TRY_TIMEOUT: Duration = Duration::from_secs(60);
const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";
const IP_FORWARD_PATH: &str = "/proc/sys/net/ipv4/ip_forward";

fn actor_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Apid {
    fn ctx(&self) -> &Arc<ClusterContext> {
        &self.cluster.ctx
    }

    /// Applies new config bytes (with their ESCs) now; restarts extension services whose
    /// ESC changed.
    fn apply_now(&self, node: &Arc<Node>, bytes: Vec<u8>, escs: Vec<ExtensionServiceConfig>) {
        let ctx = self.ctx();
        let (outcome, boot) = node.update(|state| {
            let changed = ctx.load_parsed_config(state, bytes, escs);
            let outcome = extension_services::restart_configured(ctx, &node.spec, state, &changed);
            (outcome, state.boot.clone())
        });
        lifecycle::keep_restarting_if_failed(ctx, node, outcome, boot);
    }

    /// TRY mode: reverts to `previous` after `timeout` unless the config changed meanwhile.
    fn revert_later(
        &self,
        node: Arc<Node>,
        applied: Vec<u8>,
        previous: Vec<u8>,
        timeout: Duration,
    ) {
        let apid = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if node.read(|state| state.config == applied) {
                let escs = config::stored_escs(&previous);
                apid.apply_now(&node, previous, escs);
            }
        });
    }

    /// Validates an upgrade target on a control-plane node like the legacy Upgrade does.
    fn check_etcd_health(&self, call: &Call) -> Result<(), Status> {
        for other in self.cluster.control_planes() {
            if !Arc::ptr_eq(other, &call.node) && !other.read(|s| s.up) {
                return Err(Status::failed_precondition(format!(
                    "etcd cluster is not healthy: member {} is unreachable; wait until it is back or use preserve/force",
                    other.spec.hostname
                )));
            }
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl MachineService for Apid {
    async fn version(
        &self,
        request: Request<()>,
    ) -> Result<Response<machine::VersionResponse>, Status> {
        let call = self.accept(&request, methods::VERSION, Access::Read)?;
        if self
            .ctx()
            .faults
            .is_version_hanging(&call.node.spec.hostname)
        {
            // A hung machined: the caller's deadline is the only way out.
            std::future::pending::<()>().await;
        }
        let tag = call.node.read(|s| s.installed.version.clone());
        Ok(Response::new(machine::VersionResponse {
            messages: vec![machine::Version {
                metadata: None,
                version: Some(machine::VersionInfo {
                    tag,
                    sha: "5a1c0de5".to_owned(),
                    built: String::new(),
                    go_version: "go1.24.4".to_owned(),
                    os: "linux".to_owned(),
                    arch: "amd64".to_owned(),
                }),
                platform: Some(machine::PlatformInfo {
                    name: "metal".to_owned(),
                    mode: "metal".to_owned(),
                }),
                features: Some(machine::FeaturesInfo { rbac: true }),
            }],
        }))
    }

    async fn apply_configuration(
        &self,
        request: Request<machine::ApplyConfigurationRequest>,
    ) -> Result<Response<machine::ApplyConfigurationResponse>, Status> {
        let call = self.accept(&request, methods::APPLY_CONFIGURATION, Access::Admin)?;
        let message = request.into_inner();
        let mode = Mode::try_from(message.mode).map_err(|_| {
            Status::invalid_argument(format!("unknown apply mode {}", message.mode))
        })?;
        let new = config::parse_for_apply(&message.data)?;
        let current = call.node.read(|s| s.config.clone());
        let plan = config::plan_apply(&current, &new, mode, message.dry_run, &call.version())?;
        let warnings = config::warnings(&new);
        let bytes = message.data;
        let (mode, details) = match plan {
            ApplyPlan::DryRun { mode, summary } => (mode, summary),
            ApplyPlan::Apply {
                mode,
                details,
                reboot: false,
            } => {
                self.apply_now(&call.node, bytes, new.escs);
                (mode, details)
            }
            ApplyPlan::Apply {
                mode,
                details,
                reboot: true,
            } => {
                call.node.update(|state| {
                    lifecycle::claim(state, Sequence::Reboot)?;
                    self.ctx().load_parsed_config(state, bytes, new.escs);
                    Ok::<_, Status>(())
                })?;
                lifecycle::spawn(
                    Arc::clone(self.ctx()),
                    Arc::clone(&call.node),
                    actor_id(),
                    Sequence::Reboot,
                );
                (mode, details)
            }
            ApplyPlan::Stage => {
                call.node.update(|state| state.staged_config = Some(bytes));
                (
                    Mode::Staged,
                    "Staged configuration to be applied after the next reboot".to_owned(),
                )
            }
            ApplyPlan::Try => {
                let timeout = message
                    .try_mode_timeout
                    .and_then(|d| Duration::try_from(d).ok())
                    .unwrap_or(DEFAULT_TRY_TIMEOUT);
                self.apply_now(&call.node, bytes.clone(), new.escs);
                self.revert_later(Arc::clone(&call.node), bytes, current, timeout);
                (
                    Mode::Try,
                    format!(
                        "Applied configuration in a try mode, will be reverted in {}s",
                        timeout.as_secs()
                    ),
                )
            }
        };
        Ok(Response::new(machine::ApplyConfigurationResponse {
            messages: vec![machine::ApplyConfiguration {
                metadata: None,
                warnings,
                mode: mode.into(),
                mode_details: details,
            }],
        }))
    }

    async fn upgrade(
        &self,
        request: Request<machine::UpgradeRequest>,
    ) -> Result<Response<machine::UpgradeResponse>, Status> {
        let call = self.accept(&request, methods::UPGRADE, Access::Admin)?;
        let message = request.into_inner();
        let entry = images::resolve(self.ctx(), &message.image).map_err(|e| {
            Status::unknown(format!(
                "error validating installer image {:?}: {e}",
                message.image
            ))
        })?;
        if call.node.spec.is_control_plane() && !message.force && !message.preserve {
            self.check_etcd_health(&call)?;
        }
        call.node.update(|state| {
            lifecycle::claim(state, Sequence::Upgrade)?;
            state.next_boot = Some(entry);
            Ok::<_, Status>(())
        })?;
        let actor = actor_id();
        lifecycle::spawn(
            Arc::clone(self.ctx()),
            Arc::clone(&call.node),
            actor.clone(),
            Sequence::Upgrade,
        );
        Ok(Response::new(machine::UpgradeResponse {
            messages: vec![machine::Upgrade {
                metadata: None,
                ack: "Upgrade request received".to_owned(),
                actor_id: actor,
            }],
        }))
    }

    async fn reboot(
        &self,
        request: Request<machine::RebootRequest>,
    ) -> Result<Response<machine::RebootResponse>, Status> {
        let call = self.accept(&request, methods::REBOOT, Access::Operate)?;
        call.node
            .update(|state| lifecycle::claim(state, Sequence::Reboot))?;
        let actor = actor_id();
        lifecycle::spawn(
            Arc::clone(self.ctx()),
            Arc::clone(&call.node),
            actor.clone(),
            Sequence::Reboot,
        );
        Ok(Response::new(machine::RebootResponse {
            messages: vec![machine::Reboot {
                metadata: None,
                actor_id: actor,
            }],
        }))
    }

    async fn rollback(
        &self,
        request: Request<machine::RollbackRequest>,
    ) -> Result<Response<machine::RollbackResponse>, Status> {
        let call = self.accept(&request, methods::ROLLBACK, Access::Admin)?;
        call.node.update(|state| {
            let previous = state.previous_boot.clone().ok_or_else(|| {
                Status::failed_precondition(
                    "cannot rollback to previous version: no previous boot entry",
                )
            })?;
            lifecycle::claim(state, Sequence::Rollback)?;
            state.next_boot = Some(previous);
            Ok::<_, Status>(())
        })?;
        lifecycle::spawn(
            Arc::clone(self.ctx()),
            Arc::clone(&call.node),
            String::new(),
            Sequence::Rollback,
        );
        Ok(Response::new(machine::RollbackResponse {
            messages: vec![machine::Rollback { metadata: None }],
        }))
    }

    async fn service_list(
        &self,
        request: Request<()>,
    ) -> Result<Response<machine::ServiceListResponse>, Status> {
        let call = self.accept(&request, methods::SERVICE_LIST, Access::Read)?;
        let services = call.node.read(|state| {
            state
                .services
                .iter()
                .map(|(id, service)| machine::ServiceInfo {
                    id: id.clone(),
                    state: service.state.as_str().to_owned(),
                    events: Some(machine::ServiceEvents {
                        events: service
                            .events
                            .iter()
                            .map(|e| machine::ServiceEvent {
                                msg: e.message.clone(),
                                state: e.state.as_str().to_owned(),
                                ts: Some(prost_types::Timestamp {
                                    seconds: e.at.unix_timestamp(),
                                    nanos: 0,
                                }),
                            })
                            .collect(),
                    }),
                    health: Some(machine::ServiceHealth {
                        unknown: !service.has_health_check,
                        healthy: service.is_healthy(),
                        last_message: String::new(),
                        last_change: None,
                    }),
                })
                .collect()
        });
        Ok(Response::new(machine::ServiceListResponse {
            messages: vec![machine::ServiceList {
                metadata: None,
                services,
            }],
        }))
    }

    async fn service_restart(
        &self,
        request: Request<machine::ServiceRestartRequest>,
    ) -> Result<Response<machine::ServiceRestartResponse>, Status> {
        let call = self.accept(&request, methods::SERVICE_RESTART, Access::Operate)?;
        let id = request.into_inner().id;
        let ctx = Arc::clone(self.ctx());
        let (outcome, boot) = call.node.update(|state| {
            if state.services.get(&id).is_none() {
                return Err(Status::not_found(format!("service {id:?} not found")));
            }
            let outcome = if let Some(outcome) =
                extension_services::restart(&ctx, &call.node.spec, state, &id)
            {
                outcome
            } else {
                for (step, message) in [
                    (ServiceState::Stopping, "Sending SIGTERM"),
                    (ServiceState::Finished, "Service finished successfully"),
                    (ServiceState::Preparing, "Running pre state"),
                    (ServiceState::Running, "Service started as goroutine"),
                ] {
                    state.set_service(&ctx.clock, &id, step, message);
                }
                Outcome::Started
            };
            Ok((outcome, state.boot.clone()))
        })?;
        lifecycle::keep_restarting_if_failed(&ctx, &call.node, outcome, boot);
        Ok(Response::new(machine::ServiceRestartResponse {
            messages: vec![machine::ServiceRestart {
                metadata: None,
                resp: format!("Service {id:?} restarted"),
            }],
        }))
    }

    type LogsStream = GrpcStream<common::Data>;

    async fn logs(
        &self,
        request: Request<machine::LogsRequest>,
    ) -> Result<Response<Self::LogsStream>, Status> {
        let call = self.accept(&request, methods::LOGS, Access::Read)?;
        logs::stream(Arc::clone(&call.node), request.into_inner()).map(Response::new)
    }

    type ReadStream = GrpcStream<common::Data>;

    async fn read(
        &self,
        request: Request<machine::ReadRequest>,
    ) -> Result<Response<Self::ReadStream>, Status> {
        let call = self.accept(&request, methods::READ, Access::Admin)?;
        let path = request.into_inner().path;
        let content = match path.as_str() {
            BOOT_ID_PATH => call
                .node
                .update_quietly(|s| format!("{}\n", s.read_boot_id())),
            IP_FORWARD_PATH => "1\n".to_owned(),
            _ => {
                return Err(Status::not_found(format!(
                    "open {path}: no such file or directory"
                )));
            }
        };
        Ok(Response::new(streams::finite(streams::chunks(
            content.as_bytes(),
        ))))
    }

    type EventsStream = GrpcStream<machine::Event>;

    async fn events(
        &self,
        request: Request<machine::EventsRequest>,
    ) -> Result<Response<Self::EventsStream>, Status> {
        let call = self.accept(&request, methods::EVENTS, Access::Read)?;
        events_stream::stream(Arc::clone(&call.node), request.into_inner()).map(Response::new)
    }

    async fn etcd_status(
        &self,
        request: Request<()>,
    ) -> Result<Response<machine::EtcdStatusResponse>, Status> {
        let call = self.accept(&request, methods::ETCD_STATUS, Access::EtcdRead)?;
        let member = self.etcd_member_status(&call)?;
        Ok(Response::new(machine::EtcdStatusResponse {
            messages: vec![machine::EtcdStatus {
                metadata: None,
                member_status: Some(member),
            }],
        }))
    }

    async fn etcd_member_list(
        &self,
        request: Request<machine::EtcdMemberListRequest>,
    ) -> Result<Response<machine::EtcdMemberListResponse>, Status> {
        let call = self.accept(&request, methods::ETCD_MEMBER_LIST, Access::EtcdRead)?;
        self.require_etcd(&call)?;
        let members = self
            .cluster
            .control_planes()
            .map(|node| machine::EtcdMember {
                id: etcd_member_id(node),
                hostname: node.spec.hostname.clone(),
                peer_urls: vec![format!("https://{}:2380", node.spec.address)],
                client_urls: vec![format!("https://{}:2379", node.spec.address)],
                is_learner: false,
            })
            .collect();
        Ok(Response::new(machine::EtcdMemberListResponse {
            messages: vec![machine::EtcdMembers {
                metadata: None,
                legacy_members: Vec::new(),
                members,
            }],
        }))
    }

    type KubeconfigStream = GrpcStream<common::Data>;

    async fn kubeconfig(
        &self,
        request: Request<()>,
    ) -> Result<Response<Self::KubeconfigStream>, Status> {
        let call = self.accept(&request, methods::KUBECONFIG, Access::Admin)?;
        if !call.node.spec.is_control_plane() {
            return Err(Status::unimplemented(
                "kubeconfig is only available on control-plane nodes",
            ));
        }
        let archive =
            kubeconfig::archive(&self.cluster).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(streams::finite(streams::chunks(&archive))))
    }
}

/// A stable etcd member id derived from the hostname.
fn etcd_member_id(node: &Node) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    node.spec.hostname.hash(&mut hasher);
    hasher.finish()
}

impl Apid {
    fn require_etcd(&self, call: &Call) -> Result<(), Status> {
        if call.node.spec.is_control_plane() {
            Ok(())
        } else {
            Err(Status::failed_precondition(
                "etcd is not running on this node: it is a worker",
            ))
        }
    }

    fn etcd_member_status(&self, call: &Call) -> Result<machine::EtcdMemberStatus, Status> {
        self.require_etcd(call)?;
        let leader = self
            .cluster
            .control_planes()
            .find(|node| node.read(|s| s.up))
            .map(|node| etcd_member_id(node))
            .unwrap_or_default();
        Ok(machine::EtcdMemberStatus {
            protocol_version: "3.5.0".to_owned(),
            db_size: 24_576_000,
            db_size_in_use: 12_288_000,
            leader,
            raft_index: 104_857,
            raft_term: 7,
            raft_applied_index: 104_857,
            errors: Vec::new(),
            is_learner: false,
            member_id: etcd_member_id(&call.node),
            storage_version: "3.5.0".to_owned(),
        })
    }
}
