//! The Kubernetes objects of the fake (node overlays, pods, budgets, leases) and the rules
//! that change them: cordon patches, eviction with PodDisruptionBudget arithmetic, pod
//! termination and rescheduling, and Lease writes with resourceVersion checks.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::status::ApiError;

/// The annotation that marks a mirror (static) pod.
pub(crate) const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// What the fake keeps about a node beyond what the Talos node tells (its readiness and boot).
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeRecord {
    pub(crate) uid: String,
    pub(crate) resource_version: u64,
    pub(crate) unschedulable: bool,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations: BTreeMap<String, String>,
}

/// `(namespace, name)`.
pub(crate) type Key = (String, String);

/// Every object of the fake; `resource_version` is the one counter all writes raise.
#[derive(Debug, Default)]
pub(crate) struct KubeState {
    resource_version: u64,
    pub(crate) nodes: BTreeMap<String, NodeRecord>,
    pub(crate) pods: BTreeMap<Key, Pod>,
    pub(crate) pdbs: BTreeMap<Key, PodDisruptionBudget>,
    pub(crate) leases: BTreeMap<Key, Lease>,
}

/// What an accepted eviction or delete asks the caller to do next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Termination {
    /// The pod was already terminating; nothing new to schedule.
    AlreadyTerminating,
    /// The pod started terminating; finish it after its grace period.
    Started,
}

/// A budget's status as the disruption controller would compute it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BudgetHealth {
    pub(crate) expected: i32,
    pub(crate) current_healthy: i32,
    pub(crate) desired_healthy: i32,
    pub(crate) disruptions_allowed: i32,
}

impl KubeState {
    /// Raises the shared counter and returns the new resourceVersion.
    pub(crate) fn next_resource_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    /// The current resourceVersion (for list metadata).
    pub(crate) fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Adds or replaces a pod, stamping its resourceVersion.
    pub(crate) fn put_pod(&mut self, mut pod: Pod) {
        let rv = self.next_resource_version();
        pod.metadata.resource_version = Some(rv.to_string());
        let key = key_of(&pod.metadata.namespace, &pod.metadata.name);
        self.pods.insert(key, pod);
    }

    /// Adds or replaces a budget, stamping its resourceVersion.
    pub(crate) fn put_pdb(&mut self, mut pdb: PodDisruptionBudget) {
        let rv = self.next_resource_version();
        pdb.metadata.resource_version = Some(rv.to_string());
        pdb.metadata.generation = Some(1);
        let key = key_of(&pdb.metadata.namespace, &pdb.metadata.name);
        self.pdbs.insert(key, pdb);
    }

    /// The budgets of the pod's namespace whose `matchLabels` select it.
    fn budgets_of(&self, pod: &Pod) -> Vec<&PodDisruptionBudget> {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        self.pdbs
            .iter()
            .filter(|((ns, _), _)| *ns == namespace)
            .map(|(_, pdb)| pdb)
            .filter(|pdb| selects(pdb, pod))
            .collect()
    }

    /// The budget's status from the pods it selects (`never_allows` forces zero disruptions).
    pub(crate) fn health(&self, pdb: &PodDisruptionBudget, never_allows: bool) -> BudgetHealth {
        let namespace = pdb.metadata.namespace.clone().unwrap_or_default();
        let selected: Vec<&Pod> = self
            .pods
            .iter()
            .filter(|((ns, _), pod)| *ns == namespace && selects(pdb, pod))
            .map(|(_, pod)| pod)
            .collect();
        let expected = i32::try_from(selected.len()).unwrap_or(i32::MAX);
        let current_healthy = i32::try_from(
            selected
                .iter()
                .filter(|pod| is_ready(pod) && !is_terminating(pod))
                .count(),
        )
        .unwrap_or(i32::MAX);
        let spec = pdb.spec.clone().unwrap_or_default();
        let desired_healthy = match (spec.min_available, spec.max_unavailable) {
            (Some(min), _) => resolve(&min, expected, true),
            (None, Some(max)) => (expected - resolve(&max, expected, false)).max(0),
            (None, None) => 0,
        };
        let disruptions_allowed = if never_allows {
            0
        } else {
            (current_healthy - desired_healthy).max(0)
        };
        BudgetHealth {
            expected,
            current_healthy,
            desired_healthy,
            disruptions_allowed,
        }
    }

    /// The eviction subresource's decision for `namespace/name` (the steps of the real
    /// registry, without its status write retries); on success the pod starts terminating.
    pub(crate) fn evict(
        &mut self,
        namespace: &str,
        name: &str,
        now: Time,
        never_allows: impl Fn(&str, &str) -> bool,
    ) -> Result<Termination, ApiError> {
        let key = (namespace.to_owned(), name.to_owned());
        let pod = self
            .pods
            .get(&key)
            .ok_or_else(|| ApiError::not_found("", "pods", name))?;
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        let skips_budget = is_terminating(pod)
            || matches!(phase.as_deref(), Some("Succeeded" | "Failed" | "Pending"));
        if !skips_budget {
            let budgets = self.budgets_of(pod);
            if budgets.len() > 1 {
                return Err(ApiError::several_budgets());
            }
            if let Some(pdb) = budgets.first() {
                let pdb_name = pdb.metadata.name.clone().unwrap_or_default();
                let health = self.health(pdb, never_allows(namespace, &pdb_name));
                let policy = pdb
                    .spec
                    .as_ref()
                    .and_then(|s| s.unhealthy_pod_eviction_policy.clone());
                let unhealthy_may_go = !is_ready(pod)
                    && (policy.as_deref() == Some("AlwaysAllow")
                        || health.current_healthy >= health.desired_healthy
                            && health.desired_healthy > 0);
                if !unhealthy_may_go && health.disruptions_allowed == 0 {
                    return Err(ApiError::disruption_budget(
                        &pdb_name,
                        health.desired_healthy,
                        health.current_healthy,
                    ));
                }
            }
        }
        Ok(self.start_termination(&key, now))
    }

    /// Marks the pod terminating (deletionTimestamp, `DisruptionTarget` condition).
    pub(crate) fn start_termination(&mut self, key: &Key, now: Time) -> Termination {
        let rv = self.next_resource_version();
        let Some(pod) = self.pods.get_mut(key) else {
            return Termination::AlreadyTerminating;
        };
        if is_terminating(pod) {
            return Termination::AlreadyTerminating;
        }
        pod.metadata.deletion_timestamp = Some(now.clone());
        pod.metadata.resource_version = Some(rv.to_string());
        let status = pod.status.get_or_insert_with(PodStatus::default);
        status
            .conditions
            .get_or_insert_with(Vec::new)
            .push(PodCondition {
                type_: "DisruptionTarget".to_owned(),
                status: "True".to_owned(),
                reason: Some("EvictionByEvictionAPI".to_owned()),
                last_transition_time: Some(now),
                ..PodCondition::default()
            });
        Termination::Started
    }

    /// Writes a Lease through the rules of the real store: a create of an existing name is
    /// `AlreadyExists`, an update needs the current resourceVersion.
    pub(crate) fn create_lease(
        &mut self,
        namespace: &str,
        mut lease: Lease,
        now: Time,
    ) -> Result<Lease, ApiError> {
        let name = lease.metadata.name.clone().unwrap_or_default();
        if name.is_empty() {
            return Err(ApiError::invalid(
                LEASE_GROUP,
                "leases",
                "",
                "metadata.name: Required value",
            ));
        }
        let key = (namespace.to_owned(), name.clone());
        if self.leases.contains_key(&key) {
            return Err(ApiError::already_exists(LEASE_GROUP, "leases", &name));
        }
        let rv = self.next_resource_version();
        lease.metadata.namespace = Some(namespace.to_owned());
        lease.metadata.resource_version = Some(rv.to_string());
        lease.metadata.uid = Some(uuid::Uuid::new_v4().to_string());
        lease.metadata.creation_timestamp = Some(now);
        self.leases.insert(key, lease.clone());
        Ok(lease)
    }

    /// Replaces a Lease (PUT): 422 without a resourceVersion, 409 when it is stale.
    pub(crate) fn replace_lease(
        &mut self,
        namespace: &str,
        name: &str,
        mut lease: Lease,
    ) -> Result<Lease, ApiError> {
        if lease.metadata.name.as_deref() != Some(name) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                lease.metadata.name.as_deref().unwrap_or_default()
            )));
        }
        let key = (namespace.to_owned(), name.to_owned());
        let stored = self
            .leases
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(LEASE_GROUP, "leases", name))?;
        let Some(sent) = lease.metadata.resource_version.clone() else {
            return Err(ApiError::invalid(
                LEASE_GROUP,
                "leases",
                name,
                "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
            ));
        };
        if stored.metadata.resource_version.as_deref() != Some(sent.as_str()) {
            return Err(ApiError::conflict(LEASE_GROUP, "leases", name));
        }
        let rv = self.next_resource_version();
        lease.metadata.namespace = Some(namespace.to_owned());
        lease.metadata.uid.clone_from(&stored.metadata.uid);
        lease
            .metadata
            .creation_timestamp
            .clone_from(&stored.metadata.creation_timestamp);
        lease.metadata.resource_version = Some(rv.to_string());
        self.leases.insert(key, lease.clone());
        Ok(lease)
    }
}

/// The API group of leases.
pub(crate) const LEASE_GROUP: &str = "coordination.k8s.io";

fn key_of(namespace: &Option<String>, name: &Option<String>) -> Key {
    (
        namespace.clone().unwrap_or_else(|| "default".to_owned()),
        name.clone().unwrap_or_default(),
    )
}

/// Whether the budget's selector picks the pod (`matchLabels` only; a null selector picks
/// nothing, an empty one the whole namespace).
fn selects(pdb: &PodDisruptionBudget, pod: &Pod) -> bool {
    let Some(selector) = pdb.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return false;
    };
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
}

/// An int-or-percent of `expected` (percentages round up for minAvailable, down otherwise,
/// as the disruption controller does).
fn resolve(value: &IntOrString, expected: i32, round_up: bool) -> i32 {
    match value {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => {
            let percent: i32 = s.trim_end_matches('%').parse().unwrap_or(0);
            let scaled = expected * percent;
            if round_up {
                (scaled + 99) / 100
            } else {
                scaled / 100
            }
        }
    }
}

/// Whether the pod's `Ready` condition is `True`.
pub(crate) fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Whether the pod has a deletionTimestamp.
pub(crate) fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}
