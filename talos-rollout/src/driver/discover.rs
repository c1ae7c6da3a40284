//! Discovery: each node's facts, retried when a node is briefly unreachable (mid-reboot, a
//! dropped apid connection) with capped exponential backoff and jitter, on the ports' clock.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};

use rollout_core::PortError;
use rollout_core::facts::{ClusterFacts, NodeFacts};
use sdk_support::backoff::Backoff;
use secrecy::SecretSlice;

use super::Ports;
use crate::ports::{MAX_PARALLEL_NODE_READS, read_retrying};

/// Five tries per node: 0.5 s doubling to 4 s between them, with jitter.
const DISCOVERY_RETRY: Backoff =
    Backoff::new(Duration::from_millis(500), Duration::from_secs(4)).with_max_retries(4);

impl Ports {
    /// Reads the facts planning needs from each node, at most
    /// [`MAX_PARALLEL_NODE_READS`] at once, and returns them in `nodes` order. A transient failure (a node
    /// mid-reboot, a dropped connection) is tried again a few times with a growing pause;
    /// nothing is changed on any node. [`Driver::discover`](super::Driver::discover) is the
    /// same call for a caller that already has a driver.
    ///
    /// # Errors
    /// [`Error::Port`](crate::Error::Port) when a node cannot be read (after the retries for
    /// a transient failure).
    pub async fn discover(&self, cluster: &str, nodes: &[String]) -> crate::Result<ClusterFacts> {
        // The futures are made up front: a closure over borrowed nodes kept inside the run's
        // future would make it not `Send` for every lifetime (tokio::spawn refuses it).
        let reads: Vec<_> = nodes
            .iter()
            .map(|node| self.node_facts_retrying(node))
            .collect();
        let facts: Vec<NodeFacts> = stream::iter(reads)
            .buffered(MAX_PARALLEL_NODE_READS)
            .try_collect()
            .await?;
        Ok(ClusterFacts {
            cluster: cluster.to_owned(),
            nodes: facts,
        })
    }

    /// Every node's machine config as it is now (exact bytes), retried like discovery;
    /// nothing is changed.
    ///
    /// # Errors
    /// [`Error::Port`](crate::Error::Port) when a node's config cannot be read.
    pub async fn machine_configs(
        &self,
        nodes: &[String],
    ) -> crate::Result<BTreeMap<String, SecretSlice<u8>>> {
        let mut configs = BTreeMap::new();
        for node in nodes {
            let config = read_retrying(&self.clock, &DISCOVERY_RETRY, || {
                self.talos.read_machine_config(node)
            })
            .await?;
            configs.insert(node.clone(), config);
        }
        Ok(configs)
    }

    /// The node's facts; retryable failures are tried again, anything else is returned at once.
    async fn node_facts_retrying(&self, node: &str) -> Result<NodeFacts, PortError> {
        read_retrying(&self.clock, &DISCOVERY_RETRY, || {
            self.talos.node_facts(node)
        })
        .await
    }
}
