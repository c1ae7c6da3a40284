//! [`KubeAdapter`]: the [`KubePort`] over kube-rs. Cordon records the rollout id in the
//! [`CORDONED_BY_ANNOTATION`] annotation and uncordon acts only when it is there, so a node
//! someone else cordoned stays cordoned; drain follows kubectl (`drain`); readiness reads
//! the node's `Ready` condition, boot ID and unready pods. `connect` finds the kubeconfig,
//! `lease` is the cluster-wide lock.

mod connect;
mod drain;
mod errors;
mod lease;

use std::collections::BTreeMap;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use rollout_core::{PortError, PortErrorKind};

pub use connect::{KubeconfigSource, connect, kubeconfig_via_talos};
pub use drain::{DrainOptions, OwnPod};
pub use lease::{
    ClusterLease, HOST_ANNOTATION, LeaseError, LeaseHolder, LeaseSettings, ROLLOUT_ID_ANNOTATION,
};

use crate::ports::{Cordon, DrainReport, KubePort, NodeReadiness, Uncordon};
use errors::{PORT, port_error};

/// The node annotation that records which rollout cordoned the node.
pub const CORDONED_BY_ANNOTATION: &str = "talos-rollout/cordoned-by";

/// The Kubernetes port over kube-rs.
///
/// # Usage
///
/// ```no_run
/// use talos_rollout::adapters::kube::{DrainOptions, KubeAdapter, KubeconfigSource, connect};
/// # async fn run() -> Result<(), rollout_core::PortError> {
/// let Some(source) = KubeconfigSource::from_user(None) else {
///     return Ok(()); // no kubeconfig here: fetch one with `kubeconfig_via_talos`
/// };
/// let client = connect(&source).await?;
/// let kube = KubeAdapter::new(client, "rollout-42", DrainOptions::default());
/// # drop(kube);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KubeAdapter {
    client: kube::Client,
    rollout_id: String,
    drain: DrainOptions,
}

impl std::fmt::Debug for KubeAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeAdapter")
            .field("rollout_id", &self.rollout_id)
            .field("drain", &self.drain)
            .finish_non_exhaustive()
    }
}

impl KubeAdapter {
    /// An adapter acting for the rollout `rollout_id`.
    pub fn new(client: kube::Client, rollout_id: impl Into<String>, drain: DrainOptions) -> Self {
        Self {
            client,
            rollout_id: rollout_id.into(),
            drain,
        }
    }

    /// The kube-rs client (for the cluster lease).
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    fn nodes(&self) -> Api<Node> {
        Api::all(self.client.clone())
    }

    async fn cordoned_by(
        &self,
        nodename: &str,
        operation: &str,
    ) -> Result<(bool, Option<String>), PortError> {
        let node = self
            .nodes()
            .get(nodename)
            .await
            .map_err(|e| port_error(operation, nodename, e))?;
        let cordoned = node.spec.and_then(|s| s.unschedulable).unwrap_or(false);
        let by = node
            .metadata
            .annotations
            .and_then(|a| a.get(CORDONED_BY_ANNOTATION).cloned());
        Ok((cordoned, by))
    }

    async fn patch(
        &self,
        nodename: &str,
        operation: &str,
        body: serde_json::Value,
    ) -> Result<(), PortError> {
        self.nodes()
            .patch(nodename, &PatchParams::default(), &Patch::Strategic(body))
            .await
            .map_err(|e| port_error(operation, nodename, e))?;
        Ok(())
    }
}

#[async_trait]
impl KubePort for KubeAdapter {
    async fn cordon(&self, nodename: &str) -> Result<Cordon, PortError> {
        let (cordoned, by) = self.cordoned_by(nodename, "cordon").await?;
        if by.as_deref() == Some(self.rollout_id.as_str()) {
            return Ok(Cordon::Ours);
        }
        if cordoned {
            tracing::info!(
                node = nodename,
                "already cordoned by someone else; it stays cordoned afterwards"
            );
            return Ok(Cordon::SomeoneElses);
        }
        let annotations = BTreeMap::from([(CORDONED_BY_ANNOTATION, self.rollout_id.as_str())]);
        self.patch(
            nodename,
            "cordon",
            serde_json::json!({"metadata": {"annotations": annotations}, "spec": {"unschedulable": true}}),
        )
        .await?;
        Ok(Cordon::Ours)
    }

    async fn drain(&self, nodename: &str) -> Result<DrainReport, PortError> {
        drain::drain(&self.client, nodename, &self.drain)
            .await
            .map_err(|(report, api)| {
                api.unwrap_or_else(|| {
                    PortError::new(
                        PORT,
                        "drain",
                        PortErrorKind::Rejected,
                        blocked_message(nodename, &report),
                    )
                })
            })
    }

    async fn readiness(&self, nodename: &str) -> Result<NodeReadiness, PortError> {
        let node = self
            .nodes()
            .get(nodename)
            .await
            .map_err(|e| port_error("readiness", nodename, e))?;
        let status = node.status.unwrap_or_default();
        let ready = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        let pods = Api::<Pod>::all(self.client.clone())
            .list(&ListParams::default().fields(&format!("spec.nodeName={nodename}")))
            .await
            .map_err(|e| port_error("readiness", nodename, e))?;
        let unready_pods = pods
            .items
            .iter()
            .filter(|pod| pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .filter(|pod| {
                !pod.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .into_iter()
                    .flatten()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
            .map(|pod| {
                format!(
                    "{}/{}",
                    pod.metadata.namespace.as_deref().unwrap_or_default(),
                    pod.metadata.name.as_deref().unwrap_or_default()
                )
            })
            .collect();
        Ok(NodeReadiness {
            ready,
            boot_id: status
                .node_info
                .map(|i| i.boot_id)
                .filter(|b| !b.is_empty()),
            unready_pods,
        })
    }

    async fn uncordon(&self, nodename: &str) -> Result<Uncordon, PortError> {
        let (_, by) = self.cordoned_by(nodename, "uncordon").await?;
        if by.as_deref() != Some(self.rollout_id.as_str()) {
            tracing::info!(
                node = nodename,
                "not cordoned by this rollout; left as it is"
            );
            return Ok(Uncordon::LeftAsIs);
        }
        self.patch(
            nodename,
            "uncordon",
            serde_json::json!({"metadata": {"annotations": {CORDONED_BY_ANNOTATION: null}}, "spec": {"unschedulable": null}}),
        )
        .await?;
        Ok(Uncordon::Uncordoned)
    }
}

/// "drain of k8s-2 did not finish: kube-system/db-0 (PodDisruptionBudget kube-system/db): …".
fn blocked_message(nodename: &str, report: &DrainReport) -> String {
    let blockers: Vec<String> = report
        .blocking
        .iter()
        .map(|b| match &b.pdb {
            Some(pdb) => format!("{} (PodDisruptionBudget {pdb}): {}", b.pod, b.reason),
            None => format!("{}: {}", b.pod, b.reason),
        })
        .collect();
    format!(
        "drain of {nodename} did not finish, blocked by {}; free the budgets or pods named, or raise the drain timeout, then resume",
        blockers.join("; ")
    )
}
