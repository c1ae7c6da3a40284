//! `Nodenames` and `NodeStatuses` (kubernetes.talos.dev, namespace `k8s`).

use super::resource_kind;
use crate::proto::talos::resource::definitions::k8s::{NodeStatusSpec, NodenameSpec};

resource_kind!(
    /// The Kubernetes node name Talos registers (id `nodename`).
    Nodename,
    "Nodenames.kubernetes.talos.dev",
    "k8s",
    NodenameSpec
);

resource_kind!(
    /// Kubernetes' view of the node (id = Kubernetes node name): ready, cordoned, labels.
    NodeStatus,
    "NodeStatuses.kubernetes.talos.dev",
    "k8s",
    NodeStatusSpec
);
