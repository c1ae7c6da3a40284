//! The driver loop: poll actions, journal, perform concurrently, feed results back, sleep.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::diagnosis::{Diagnosis, recognise, redact_line};
use super::{Driver, Inner};
use crate::journal::{ClusterLock, Journal};
use crate::machine::{NodeFailure, Rollout, RolloutEvent, Summary};
use crate::{Error, tailscale};

/// How often the lock heartbeat is refreshed.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// Log lines kept in a diagnosis.
const LOG_TAIL: usize = 30;

impl Driver {
    /// Runs the machine until it finishes or is cancelled. Journal entries are appended
    /// (fsynced) before the action they precede is performed.
    pub(crate) async fn execute(
        &self,
        inner: &Arc<Inner>,
        machine: &mut Rollout,
        journal: &mut Journal,
        lock: &mut ClusterLock,
    ) -> crate::Result<Summary> {
        let clock = self.ports.clock.clone();
        let mut in_flight = FuturesUnordered::new();
        let mut cancelling = false;
        let mut next_heartbeat = clock.now() + HEARTBEAT;
        loop {
            if !cancelling {
                while let Some(action) = machine.poll_action(clock.now()) {
                    self.flush(inner, machine, journal).await?;
                    in_flight.push(inner.clone().perform(action));
                }
            }
            if let Some(summary) = self.flush(inner, machine, journal).await? {
                return Ok(summary);
            }
            if cancelling && in_flight.is_empty() {
                return Err(Error::Cancelled);
            }
            if clock.now() >= next_heartbeat {
                next_heartbeat = clock.now() + HEARTBEAT;
                lock.heartbeat()?;
            }
            let sleep_for = machine
                .poll_timeout()
                .map(|at| at.saturating_duration_since(clock.now()));
            if in_flight.is_empty() && sleep_for.is_none() && !cancelling {
                return Err(Error::Stalled);
            }
            tokio::select! {
                Some(observation) = in_flight.next(), if !in_flight.is_empty() => {
                    machine.handle(observation, clock.now());
                }
                // Wake at the machine's next timeout, and at least every heartbeat interval.
                () = clock.sleep(sleep_for.map_or(HEARTBEAT, |d| d.min(HEARTBEAT))), if !cancelling => {}
                () = self.cancel.cancelled(), if !cancelling => {
                    cancelling = true;
                    let message = "cancelled: finishing the steps in flight, then stopping".to_owned();
                    let _ = self.events.send(RolloutEvent::Warning { node: None, message });
                }
            }
        }
    }

    /// Persists journal entries and forwards events (adding a diagnosis after each failure).
    async fn flush(
        &self,
        inner: &Inner,
        machine: &mut Rollout,
        journal: &mut Journal,
    ) -> crate::Result<Option<Summary>> {
        while let Some(entry) = machine.poll_journal() {
            journal.append(&entry)?;
        }
        let mut finished = None;
        while let Some(event) = machine.poll_event() {
            let diagnose = match &event {
                RolloutEvent::NodeFailed { node, failure } => Some((node.clone(), failure.clone())),
                RolloutEvent::Finished(summary) => {
                    finished = Some(summary.clone());
                    None
                }
                _ => None,
            };
            let _ = self.events.send(event);
            if let Some((node, failure)) = diagnose {
                let diagnosis = inner.diagnose(&node, failure).await;
                let _ = self
                    .events
                    .send(RolloutEvent::Diagnosis(Box::new(diagnosis)));
            }
        }
        Ok(finished)
    }
}

impl Inner {
    async fn diagnose(&self, node: &str, failure: NodeFailure) -> Diagnosis {
        let service = format!("ext-{}", tailscale::SERVICE_NAME);
        let call = self.ports.talos.service_log_tail(node, &service, LOG_TAIL);
        let timeout = self.plan.settings.timeouts.step;
        let tail = tokio::select! {
            result = call => result.unwrap_or_else(|error| vec![format!("(log unavailable: {error})")]),
            () = self.ports.clock.sleep(timeout) => vec!["(log unavailable: no answer in time)".to_owned()],
        };
        let tail: Vec<String> = tail.iter().map(|line| redact_line(line)).collect();
        let causes = recognise(&tail, failure.last_verdict.as_ref());
        Diagnosis {
            node: node.to_owned(),
            failure,
            tailscale_log_tail: tail,
            causes,
        }
    }
}
