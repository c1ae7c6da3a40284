//! `ClusterService.HealthCheck`: the server-side cluster health check.

use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};

use crate::client::{NodeClient, cluster_api};
use crate::error::Error;
use crate::methods;
use crate::proto::cluster::{ClusterInfo, HealthCheckRequest};
use crate::transport::{Failover, request};

/// The cluster's nodes for a health check; leave both empty to let the node discover them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterNodes {
    /// Control-plane node addresses.
    pub control_plane: Vec<String>,
    /// Worker node addresses.
    pub workers: Vec<String>,
}

impl NodeClient {
    /// Runs the cluster health check on this (control-plane) node. The stream yields
    /// progress lines (`discovered nodes: …`, `waiting for …`); the cluster is healthy
    /// when it ends without error.
    ///
    /// # Errors
    ///
    /// Opening fails on worker nodes; the stream yields [`Error::Api`] (for example
    /// `DeadlineExceeded` after `wait_timeout`) when a check fails.
    pub async fn health_check(
        &self,
        wait_timeout: Duration,
        nodes: &ClusterNodes,
    ) -> Result<BoxStream<'static, Result<String, Error>>, Error> {
        let context = self.context(methods::HEALTH_CHECK);
        let message = HealthCheckRequest {
            wait_timeout: wait_timeout.try_into().ok(),
            cluster_info: Some(ClusterInfo {
                control_plane_nodes: nodes.control_plane.clone(),
                worker_nodes: nodes.workers.clone(),
                force_endpoint: String::new(),
            }),
        };
        let streaming = self
            .call(&context, Failover::OnUnavailable, |channel, node| {
                let message = message.clone();
                async move {
                    cluster_api(channel)
                        .health_check(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        Ok(context
            .stream(streaming)
            .map(|progress| progress.map(|progress| progress.message))
            .boxed())
    }
}
