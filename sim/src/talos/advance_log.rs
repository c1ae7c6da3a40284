//! How quickly a client moves on after a node comes back: for every boot after the first,
//! the time from the node reporting running + ready to the next call apid routes to it.
//!
//! This is the sim's own record, so a benchmark can measure a rollout's reaction time
//! without trusting the rollout's clock.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// How many measurements the log keeps (the oldest are forgotten first).
const CAPACITY: usize = 100_000;

/// Nodes back up and not yet called since, plus the measured delays.
#[derive(Debug, Default)]
pub(crate) struct AdvanceLog {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Hostname → when it became running + ready after a reboot.
    ready_since: HashMap<String, Instant>,
    /// Ready → next call, in the order the calls arrived.
    delays: Vec<Duration>,
}

impl AdvanceLog {
    /// `host` is running and ready again after a reboot, now.
    pub(crate) fn node_ready(&self, host: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.ready_since.insert(host.to_owned(), Instant::now());
    }

    /// apid routed a call to `host`, now; closes that node's open measurement, if any.
    pub(crate) fn node_called(&self, host: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ready) = inner.ready_since.remove(host) else {
            return;
        };
        if inner.delays.len() < CAPACITY {
            inner.delays.push(ready.elapsed());
        }
    }

    /// Every measured delay so far, in the order the calls arrived.
    pub(crate) fn delays(&self) -> Vec<Duration> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.delays.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn measures_from_ready_to_the_next_call_once_per_boot() {
        let log = AdvanceLog::default();
        log.node_called("k8s-1");
        log.node_ready("k8s-1");
        tokio::time::advance(Duration::from_millis(30)).await;
        log.node_called("k8s-1");
        tokio::time::advance(Duration::from_millis(30)).await;
        log.node_called("k8s-1");
        assert_eq!(log.delays(), vec![Duration::from_millis(30)]);
    }
}
