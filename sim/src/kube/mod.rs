//! A Kubernetes API on loopback over HTTPS with client certificates: nodes whose `Ready`
//! follows the simulated Talos node, pods bound to nodes with owners, the eviction
//! subresource with PodDisruptionBudget arithmetic, pods rescheduled after eviction,
//! `coordination.k8s.io/v1` leases, and the faults of `Faults::kube_api_unavailable`,
//! `Faults::pdb_never_allows` and `Faults::pod_never_terminates`.
//!
//! Bodies are k8s-openapi types and errors are `meta/v1` Status bodies with the apiserver's
//! codes and reasons (see `status`); the rules live in `state`, the routes in `api`.
//!
//! # Caveats
//!
//! A node's `Ready` turns `False` as soon as its Talos node is down, whereas a real control
//! plane keeps the old `True` until the kubelet reports or the grace period ends: check the
//! boot ID, not `Ready` alone. Budgets select by `matchLabels` only, and their status is
//! computed on every read (no controller lag, no `disruptedPods`). No watches.

mod api;
mod pods;
mod state;
mod status;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    Node, NodeAddress, NodeCondition, NodeSpec as KubeNodeSpec, NodeStatus, NodeSystemInfo, Pod,
};
use k8s_openapi::api::policy::v1::{
    PodDisruptionBudget, PodDisruptionBudgetSpec, PodDisruptionBudgetStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::clock::SimClock;
use crate::http_server::HttpServer;
use crate::pki::{LOOPBACK_SANS, Pki};
use crate::talos::TalosCluster;
use crate::{Error, Faults};

pub use pods::{PodOwner, PodTemplate};
use state::{KubeState, NodeRecord, Termination};

/// The Kubernetes version the API server reports and every kubelet runs.
const KUBERNETES_VERSION: &str = "v1.33.4";

/// How fast pods go away and come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubeTimings {
    /// From an accepted eviction or delete until the pod is gone.
    pub pod_termination: Duration,
    /// From a ReplicaSet pod being gone until its replacement runs Ready on another node.
    pub pod_reschedule: Duration,
}

impl Default for KubeTimings {
    fn default() -> Self {
        Self {
            pod_termination: Duration::from_millis(200),
            pod_reschedule: Duration::from_millis(300),
        }
    }
}

impl KubeTimings {
    /// Timings with the given termination and rescheduling delays.
    pub fn new(pod_termination: Duration, pod_reschedule: Duration) -> Self {
        Self {
            pod_termination,
            pod_reschedule,
        }
    }
}

/// The simulated Kubernetes API of a sim cluster (cheap to clone; all clones share state).
///
/// Every node starts with a DaemonSet pod (`kube-flannel-<node>`), every control plane with
/// a mirror pod (`kube-apiserver-<node>`), and the first two nodes run the `coredns`
/// ReplicaSet's pods under the budget `kube-system/coredns` (`minAvailable: 1`).
#[derive(Debug, Clone)]
pub struct KubeApi {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<KubeState>,
    cluster: TalosCluster,
    faults: Faults,
    clock: SimClock,
    timings: KubeTimings,
    requests: Mutex<Vec<String>>,
}

impl KubeApi {
    pub(crate) fn new(cluster: TalosCluster, faults: Faults, timings: KubeTimings) -> Self {
        let clock = cluster.ctx.clock;
        let api = Self {
            inner: Arc::new(Inner {
                state: Mutex::new(KubeState::default()),
                cluster,
                faults,
                clock,
                timings,
                requests: Mutex::new(Vec::new()),
            }),
        };
        api.seed();
        api
    }

    fn seed(&self) {
        let specs = self.inner.cluster.specs();
        {
            let mut state = self.lock();
            for spec in &specs {
                let mut labels = std::collections::BTreeMap::from([(
                    "kubernetes.io/hostname".to_owned(),
                    spec.hostname.clone(),
                )]);
                if spec.is_control_plane() {
                    labels.insert(
                        "node-role.kubernetes.io/control-plane".to_owned(),
                        String::new(),
                    );
                }
                let rv = state.next_resource_version();
                state.nodes.insert(
                    spec.hostname.clone(),
                    NodeRecord {
                        uid: uuid::Uuid::new_v4().to_string(),
                        resource_version: rv,
                        labels,
                        ..NodeRecord::default()
                    },
                );
            }
        }
        for spec in &specs {
            self.add_pod(
                PodTemplate::new(
                    "kube-system",
                    format!("kube-flannel-{}", spec.hostname),
                    &spec.hostname,
                )
                .owner(PodOwner::DaemonSet("kube-flannel".to_owned())),
            );
            if spec.is_control_plane() {
                self.add_pod(
                    PodTemplate::new(
                        "kube-system",
                        format!("kube-apiserver-{}", spec.hostname),
                        &spec.hostname,
                    )
                    .owner(PodOwner::Mirror),
                );
            }
        }
        for (index, spec) in specs.iter().take(2).enumerate() {
            self.add_pod(
                PodTemplate::new(
                    "kube-system",
                    format!("coredns-7d8f9c-{index}"),
                    &spec.hostname,
                )
                .owner(PodOwner::ReplicaSet("coredns-7d8f9c".to_owned()))
                .label("k8s-app", "kube-dns"),
            );
        }
        self.add_pdb_min_available("kube-system", "coredns", [("k8s-app", "kube-dns")], 1);
    }

    fn lock(&self) -> MutexGuard<'_, KubeState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Time {
        let nanos = self.inner.clock.now().unix_timestamp_nanos();
        Time(k8s_openapi::jiff::Timestamp::from_nanosecond(nanos).unwrap_or_default())
    }

    /// Serves the API over HTTPS on loopback; clients need a certificate signed by `pki`.
    pub(crate) async fn serve(&self, pki: &Pki) -> Result<HttpServer, Error> {
        let tls = pki.http1_server_config(LOOPBACK_SANS)?;
        self.serve_with(tls).await
    }

    /// Serves this API again on another loopback port with `tls` (a control-plane node's
    /// own endpoint, whose certificate is the node's).
    pub(crate) async fn serve_with(
        &self,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<HttpServer, Error> {
        HttpServer::start_tls(api::router(self.clone()), tls).await
    }

    /// Adds a running, Ready pod.
    pub fn add_pod(&self, template: PodTemplate) -> &Self {
        let pod = template.into_pod(self.now());
        self.lock().put_pod(pod);
        self
    }

    /// Adds the budget `namespace/name` selecting `labels` with an integer `minAvailable`.
    pub fn add_pdb_min_available<'a>(
        &self,
        namespace: &str,
        name: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        min_available: i32,
    ) -> &Self {
        let pdb = PodDisruptionBudget {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                uid: Some(uuid::Uuid::new_v4().to_string()),
                ..ObjectMeta::default()
            },
            spec: Some(PodDisruptionBudgetSpec {
                min_available: Some(IntOrString::Int(min_available)),
                selector: Some(LabelSelector {
                    match_labels: Some(
                        labels
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect(),
                    ),
                    ..LabelSelector::default()
                }),
                ..PodDisruptionBudgetSpec::default()
            }),
            status: None,
        };
        self.lock().put_pdb(pdb);
        self
    }

    /// The pods bound to `node` right now (terminating ones included).
    pub fn pods_on(&self, node: &str) -> Vec<Pod> {
        self.lock()
            .pods
            .values()
            .filter(|pod| pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
            .cloned()
            .collect()
    }

    /// Every pod, by namespace and name.
    pub fn pods(&self) -> Vec<Pod> {
        self.lock().pods.values().cloned().collect()
    }

    /// The node as the API shows it, if it exists.
    pub fn node(&self, name: &str) -> Option<Node> {
        let record = self.lock().nodes.get(name).cloned()?;
        Some(self.render_node(name, &record))
    }

    /// The Lease `namespace/name`, if it exists.
    pub fn lease(&self, namespace: &str, name: &str) -> Option<Lease> {
        self.lock()
            .leases
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Every request received so far, as `METHOD /path?query`, oldest first.
    pub fn received_requests(&self) -> Vec<String> {
        self.inner
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record_request(&self, line: String) {
        let mut requests = self
            .inner
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if requests.len() >= 10_000 {
            requests.remove(0);
        }
        requests.push(line);
    }

    /// The node object: the fake's overlay plus readiness and boot ID from the Talos node.
    fn render_node(&self, name: &str, record: &NodeRecord) -> Node {
        let snapshot = self.inner.cluster.snapshot(name);
        let ready = snapshot.as_ref().is_some_and(|s| s.ready)
            && !self.inner.faults.is_kubelet_not_ready(name);
        let (status, reason, message) = if ready {
            ("True", "KubeletReady", "kubelet is posting ready status")
        } else {
            (
                "False",
                "KubeletNotReady",
                "container runtime network not ready",
            )
        };
        let address = self
            .inner
            .cluster
            .specs()
            .into_iter()
            .find(|s| s.hostname == name)
            .map(|s| s.address.to_string())
            .unwrap_or_default();
        let now = self.now();
        Node {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                uid: Some(record.uid.clone()),
                resource_version: Some(record.resource_version.to_string()),
                labels: Some(record.labels.clone()),
                annotations: (!record.annotations.is_empty()).then(|| record.annotations.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(KubeNodeSpec {
                unschedulable: record.unschedulable.then_some(true),
                ..KubeNodeSpec::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".to_owned(),
                    status: status.to_owned(),
                    reason: Some(reason.to_owned()),
                    message: Some(message.to_owned()),
                    last_heartbeat_time: Some(now.clone()),
                    last_transition_time: Some(now),
                }]),
                addresses: Some(vec![NodeAddress {
                    type_: "InternalIP".to_owned(),
                    address,
                }]),
                node_info: snapshot.map(|s| NodeSystemInfo {
                    boot_id: s.boot_id,
                    os_image: format!("Talos ({})", s.version),
                    kubelet_version: KUBERNETES_VERSION.to_owned(),
                    operating_system: "linux".to_owned(),
                    architecture: "amd64".to_owned(),
                    ..NodeSystemInfo::default()
                }),
                ..NodeStatus::default()
            }),
        }
    }

    /// The budget with the status the disruption controller would write now.
    fn render_pdb(&self, state: &KubeState, pdb: &PodDisruptionBudget) -> PodDisruptionBudget {
        let namespace = pdb.metadata.namespace.clone().unwrap_or_default();
        let name = pdb.metadata.name.clone().unwrap_or_default();
        let health = state.health(
            pdb,
            self.inner.faults.is_pdb_never_allowing(&namespace, &name),
        );
        let mut rendered = pdb.clone();
        rendered.status = Some(PodDisruptionBudgetStatus {
            observed_generation: pdb.metadata.generation,
            current_healthy: health.current_healthy,
            desired_healthy: health.desired_healthy,
            disruptions_allowed: health.disruptions_allowed,
            expected_pods: health.expected,
            ..PodDisruptionBudgetStatus::default()
        });
        rendered
    }

    /// Finishes a termination in the background: the pod goes after its grace period (unless
    /// it never terminates), and a ReplicaSet's pod comes back on another schedulable node.
    fn finish_termination(&self, namespace: String, name: String) {
        let api = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(api.inner.timings.pod_termination).await;
            if api.inner.faults.is_pod_never_terminating(&namespace, &name) {
                return;
            }
            let removed = api.lock().pods.remove(&(namespace.clone(), name.clone()));
            let Some(pod) = removed else { return };
            let Some(replacement) = pods::replacement(&pod) else {
                return;
            };
            tokio::time::sleep(api.inner.timings.pod_reschedule).await;
            let old_node = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default();
            let target = api.schedulable_node_except(&old_node);
            api.add_pod(replacement.on_node(target));
        });
    }

    /// A Ready, schedulable node other than `except` (the first in name order), if any.
    fn schedulable_node_except(&self, except: &str) -> Option<String> {
        let candidates: Vec<String> = self
            .lock()
            .nodes
            .iter()
            .filter(|(name, record)| name.as_str() != except && !record.unschedulable)
            .map(|(name, _)| name.clone())
            .collect();
        candidates
            .into_iter()
            .find(|name| self.inner.cluster.snapshot(name).is_some_and(|s| s.ready))
    }

    /// Starts terminating a pod (delete or accepted eviction).
    fn terminate(&self, namespace: &str, name: &str, result: Termination) {
        if result == Termination::Started {
            self.finish_termination(namespace.to_owned(), name.to_owned());
        }
    }
}
