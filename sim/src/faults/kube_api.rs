//! Switches for the Kubernetes API: the whole API unavailable, a PodDisruptionBudget that
//! never allows a disruption, a pod that never finishes terminating, and a kubelet that
//! never reports its node Ready.

use std::collections::BTreeSet;

use super::Faults;

/// The Kubernetes API switches inside [`Faults`]' one lock.
#[derive(Debug, Default)]
pub(super) struct KubeApiFaults {
    unavailable: bool,
    pdb_never_allows: BTreeSet<(String, String)>,
    pod_never_terminates: BTreeSet<(String, String)>,
    kubelet_not_ready: BTreeSet<String>,
}

impl Faults {
    /// Every Kubernetes API request is answered `503 ServiceUnavailable` (an apiserver that
    /// is restarting or behind a load balancer without healthy backends).
    pub fn kube_api_unavailable(&self, unavailable: bool) -> &Self {
        self.lock().kube_api.unavailable = unavailable;
        self
    }

    /// The PodDisruptionBudget `namespace/name` reports `disruptionsAllowed: 0` whatever its
    /// pods' health (a storage or database budget such as Longhorn's or CloudNativePG's).
    pub fn pdb_never_allows(&self, namespace: impl Into<String>, name: impl Into<String>) -> &Self {
        self.lock()
            .kube_api
            .pdb_never_allows
            .insert((namespace.into(), name.into()));
        self
    }

    /// The pod `namespace/name` stays terminating forever once deleted or evicted (a
    /// finalizer or a process that ignores SIGTERM).
    pub fn pod_never_terminates(
        &self,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> &Self {
        self.lock()
            .kube_api
            .pod_never_terminates
            .insert((namespace.into(), name.into()));
        self
    }

    /// The Kubernetes node `hostname` reports `Ready=False` (`KubeletNotReady`) while its
    /// Talos machine runs and is ready: a kubelet whose container network never comes up.
    /// `false` lets the node's Ready follow its Talos node again.
    pub fn kubelet_not_ready(&self, hostname: impl Into<String>, not_ready: bool) -> &Self {
        let hostname = hostname.into();
        let mut faults = self.lock();
        if not_ready {
            faults.kube_api.kubelet_not_ready.insert(hostname);
        } else {
            faults.kube_api.kubelet_not_ready.remove(&hostname);
        }
        drop(faults);
        self
    }

    /// Whether the kubelet of `hostname` is kept from reporting Ready.
    pub(crate) fn is_kubelet_not_ready(&self, hostname: &str) -> bool {
        self.lock().kube_api.kubelet_not_ready.contains(hostname)
    }

    /// Whether the Kubernetes API answers 503 to everything.
    pub(crate) fn is_kube_api_unavailable(&self) -> bool {
        self.lock().kube_api.unavailable
    }

    /// Whether the budget `namespace/name` never allows a disruption.
    pub(crate) fn is_pdb_never_allowing(&self, namespace: &str, name: &str) -> bool {
        self.lock()
            .kube_api
            .pdb_never_allows
            .contains(&(namespace.to_owned(), name.to_owned()))
    }

    /// Whether the pod `namespace/name` never finishes terminating.
    pub(crate) fn is_pod_never_terminating(&self, namespace: &str, name: &str) -> bool {
        self.lock()
            .kube_api
            .pod_never_terminates
            .contains(&(namespace.to_owned(), name.to_owned()))
    }
}
