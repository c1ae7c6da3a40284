//! `cluster.ClusterService.HealthCheck`: served by control-plane nodes; succeeds (clean end
//! of stream) once every node is up and ready, fails with `DeadlineExceeded` otherwise.
//! Nodes named in the request's `cluster_info` are the ones checked; with both lists empty
//! the node "discovers" every node of the cluster.

use std::sync::Arc;
use std::time::Duration;

use talos_client::methods;
use talos_client::proto::cluster::cluster_service_server::ClusterService;
use talos_client::proto::cluster::{ClusterInfo, HealthCheckProgress, HealthCheckRequest};
use talos_client::proto::machine::machine_status_event::MachineStage;
use tonic::{Request, Response, Status};

use super::Apid;
use crate::talos::cluster::TalosCluster;
use crate::talos::node::Node;
use crate::talos::rbac::Access;
use crate::talos::streams::{GrpcStream, produced};

/// `talosctl health`'s default wait.
const DEFAULT_WAIT: Duration = Duration::from_secs(20 * 60);
const POLL: Duration = Duration::from_secs(1);

fn progress(message: String) -> HealthCheckProgress {
    HealthCheckProgress {
        metadata: None,
        message,
    }
}

/// The nodes to check: those the request names (an unknown name is never ready), or all.
fn checked_nodes(cluster: &TalosCluster, info: Option<ClusterInfo>) -> Vec<Checked> {
    let named: Vec<String> = info
        .map(|info| [info.control_plane_nodes, info.worker_nodes].concat())
        .unwrap_or_default();
    if named.is_empty() {
        return cluster.nodes.iter().cloned().map(Checked::Known).collect();
    }
    named
        .into_iter()
        .map(|name| {
            cluster
                .find(&name)
                .map_or(Checked::Unknown(name), Checked::Known)
        })
        .collect()
}

/// A node the health check looks at.
enum Checked {
    Known(Arc<Node>),
    Unknown(String),
}

/// The first checked node that is not up and ready, if any.
fn unready_node(nodes: &[Checked]) -> Option<String> {
    nodes.iter().find_map(|checked| match checked {
        Checked::Known(node) => (!node
            .read(|s| s.up && s.ready && s.stage == MachineStage::Running))
        .then(|| node.spec.hostname.clone()),
        Checked::Unknown(name) => Some(name.clone()),
    })
}

#[tonic::async_trait]
impl ClusterService for Apid {
    type HealthCheckStream = GrpcStream<HealthCheckProgress>;

    async fn health_check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::HealthCheckStream>, Status> {
        let call = self.accept(&request, methods::HEALTH_CHECK, Access::Read)?;
        if !call.node.spec.is_control_plane() {
            return Err(Status::failed_precondition(
                "health check must be run against a control plane node",
            ));
        }
        let message = request.into_inner();
        let wait = message
            .wait_timeout
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or(DEFAULT_WAIT);
        let nodes = checked_nodes(&self.cluster, message.cluster_info);
        let boot = call.node.read(|s| s.boot.clone());
        Ok(Response::new(produced(boot, move |tx| async move {
            let addresses: Vec<String> = nodes
                .iter()
                .map(|checked| match checked {
                    Checked::Known(node) => node.spec.address.to_string(),
                    Checked::Unknown(name) => name.clone(),
                })
                .collect();
            let _ = tx
                .send(Ok(progress(format!(
                    "discovered nodes: [{}]",
                    addresses.join(" ")
                ))))
                .await;
            let deadline = tokio::time::Instant::now() + wait;
            let check = "waiting for all nodes to finish boot sequence";
            loop {
                match unready_node(&nodes) {
                    None => {
                        let _ = tx.send(Ok(progress(format!("{check}: OK")))).await;
                        let _ = tx
                            .send(Ok(progress(
                                "waiting for etcd to be healthy: OK".to_owned(),
                            )))
                            .await;
                        let _ = tx
                            .send(Ok(progress(
                                "waiting for all k8s nodes to report ready: OK".to_owned(),
                            )))
                            .await;
                        return;
                    }
                    Some(host) if tokio::time::Instant::now() >= deadline => {
                        let _ = tx
                            .send(Err(Status::deadline_exceeded(format!(
                                "{check}: node {host} is not ready"
                            ))))
                            .await;
                        return;
                    }
                    Some(host) => {
                        if tx
                            .send(Ok(progress(format!("{check}: node {host} is not ready"))))
                            .await
                            .is_err()
                        {
                            return;
                        }
                        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                        tokio::time::sleep(POLL.min(left)).await;
                    }
                }
            }
        })))
    }
}
