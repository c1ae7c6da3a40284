//! `Nodenames` and `NodeStatuses` (kubernetes.talos.dev, namespace `k8s`).

use super::resource_kind;
use crate::client::NodeClient;
use crate::error::Error;
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

impl NodeClient {
    /// The Kubernetes node name Talos registered for the node; `None` until it has one
    /// (early in boot).
    ///
    /// # Errors
    /// As [`NodeClient::get`].
    pub async fn nodename(&self) -> Result<Option<String>, Error> {
        Ok(self
            .get::<Nodename>("nodename")
            .await?
            .map(|resource| resource.spec.nodename)
            .filter(|name| !name.is_empty()))
    }
}
