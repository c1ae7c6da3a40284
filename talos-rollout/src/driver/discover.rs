//! Discovery: each node's facts, retried when a node is briefly unreachable (mid-reboot, a
//! dropped apid connection) with capped exponential backoff and jitter, on the ports' clock.

use std::time::Duration;

use rand::Rng;

use super::Ports;
use rollout_core::PortError;
use rollout_core::facts::{ClusterFacts, NodeFacts};

/// Tries per node before a transient failure is returned.
const ATTEMPTS: u32 = 5;
/// Pause before the second try; doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// Longest pause between two tries.
const MAX_PAUSE: Duration = Duration::from_secs(4);

impl Ports {
    /// Reads the facts planning needs from each node, in order. A transient failure (a node
    /// mid-reboot, a dropped connection) is tried again a few times with a growing pause;
    /// nothing is changed on any node. [`Driver::discover`](super::Driver::discover) is the
    /// same call for a caller that already has a driver.
    ///
    /// # Errors
    /// [`Error::Port`](crate::Error::Port) when a node cannot be read (after the retries for
    /// a transient failure).
    pub async fn discover(&self, cluster: &str, nodes: &[String]) -> crate::Result<ClusterFacts> {
        let mut facts = Vec::new();
        for node in nodes {
            facts.push(self.node_facts_retrying(node).await?);
        }
        Ok(ClusterFacts {
            cluster: cluster.to_owned(),
            nodes: facts,
        })
    }

    /// The node's facts; retryable failures are tried again, anything else is returned at once.
    async fn node_facts_retrying(&self, node: &str) -> Result<NodeFacts, PortError> {
        let mut attempt = 1;
        loop {
            match self.talos.node_facts(node).await {
                Err(error) if error.is_retryable() && attempt < ATTEMPTS => {
                    tracing::debug!(node, attempt, %error, "discovery read failed; trying again");
                    self.clock.sleep(pause_before(attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// The pause after try `attempt` (1-based): `FIRST_PAUSE × 2^(attempt-1)`, capped, with
/// "equal jitter" (between half and all of it).
fn pause_before(attempt: u32) -> Duration {
    let exponential = FIRST_PAUSE
        .saturating_mul(2_u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_PAUSE);
    let half = exponential / 2;
    half + rand::rng().random_range(Duration::ZERO..=half)
}

#[cfg(test)]
mod tests {
    use super::{FIRST_PAUSE, MAX_PAUSE, pause_before};

    #[test]
    fn pauses_double_within_jitter_bounds_up_to_the_cap() {
        for attempt in 1..10 {
            let full = (FIRST_PAUSE * 2_u32.pow(attempt - 1)).min(MAX_PAUSE);
            let pause = pause_before(attempt);
            assert!(pause >= full / 2 && pause <= full, "{attempt}: {pause:?}");
        }
    }
}
