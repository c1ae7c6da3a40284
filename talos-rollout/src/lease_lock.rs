//! The cluster lock every writing call of the front door takes before any side effect: the
//! local file lock of the artifacts directory and, when a Kubernetes API is given and
//! reachable, the cluster-wide [`ClusterLease`], renewed in the background while the call
//! runs and released at its end. Without a reachable API only the file lock guards the
//! cluster, and a note says so.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::adapters::kube::{ClusterLease, LeaseError, LeaseSettings};
use crate::event::RunEvent;
use crate::journal::ClusterLock;

/// The locks one writing call holds.
pub(crate) struct Locks {
    /// The artifacts directory's lock (the driver heartbeats it).
    pub(crate) file: ClusterLock,
    lease: Option<(Arc<ClusterLease>, JoinHandle<()>)>,
}

impl Locks {
    /// Takes the Lease (when `client` is given) after the held file lock. A Lease held by
    /// another rollout, stale without take-over, or lost in a race is refused; an
    /// unreachable API falls back to the file lock alone, with a note in `notes`. While the
    /// call runs the Lease is renewed every third of its duration; a renewal that finds it
    /// taken by someone else cancels `cancel` (the rollout stops between two steps).
    ///
    /// # Errors
    /// [`crate::Error::Lease`] when another rollout holds the Lease.
    pub(crate) async fn take(
        file: ClusterLock,
        client: Option<&kube::Client>,
        settings: LeaseSettings,
        cancel: CancellationToken,
        notes: impl Fn(RunEvent) + Send + Sync + 'static,
    ) -> crate::Result<Self> {
        let Some(client) = client else {
            return Ok(Self { file, lease: None });
        };
        let label = format!("{}/{}", settings.namespace, settings.name);
        let lease = match ClusterLease::acquire(client, settings).await {
            Ok(lease) => Arc::new(lease),
            Err(LeaseError::Api(error)) => {
                notes(RunEvent::Note {
                    message: format!(
                        "the Kubernetes API is unreachable ({error}): only the local lock in the artifacts directory guards this cluster, so make sure no other rollout runs against it"
                    ),
                });
                return Ok(Self { file, lease: None });
            }
            Err(refused) => return Err(crate::Error::Lease(Box::new(refused))),
        };
        notes(RunEvent::Note {
            message: format!("holding the cluster lease {label}"),
        });
        let renewing = lease.clone();
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(renewing.renew_interval()).await;
                match renewing.renew().await {
                    Ok(()) => {}
                    Err(LeaseError::Api(error)) => {
                        tracing::warn!(%error, "could not renew the cluster lease; retrying");
                    }
                    Err(lost) => {
                        notes(RunEvent::Note {
                            message: format!("{lost}: the rollout stops after its current step"),
                        });
                        cancel.cancel();
                        return;
                    }
                }
            }
        });
        Ok(Self {
            file,
            lease: Some((lease, renewer)),
        })
    }

    /// Stops renewing and releases the Lease (a failure to release is only logged: the
    /// Lease then expires by itself); the file lock goes when this is dropped.
    pub(crate) async fn release(self) {
        let Some((lease, renewer)) = self.lease else {
            return;
        };
        renewer.abort();
        let _ = renewer.await;
        match Arc::try_unwrap(lease) {
            Ok(lease) => {
                if let Err(error) = lease.release().await {
                    tracing::warn!(%error, "could not release the cluster lease; it expires by itself");
                }
            }
            Err(_) => tracing::warn!("the cluster lease is still shared; it expires by itself"),
        }
    }
}
