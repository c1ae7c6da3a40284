//! The driver loop: poll actions, journal, perform concurrently, feed results back, sleep
//! until a result, a node's change (its change feed) or the machine's next timeout.
//! Diagnoses of failed nodes run alongside (a slow log read never holds up in-flight
//! actions), and file writes (journal fsync, lock heartbeat) leave the async worker thread.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::{self, FuturesUnordered};
use rollout_core::RolloutEvent;
use rollout_core::machine::{NodeFailure, Rollout, Summary};

use super::feeds::ChangeFeeds;
use super::{Driver, Inner};
use crate::Error;
use crate::diagnosis::Diagnosis;
use crate::event::RunEvent;
use crate::journal::{ClusterLock, Journal};

/// How often the lock heartbeat is refreshed.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// Log lines kept in a diagnosis.
const LOG_TAIL: usize = 30;

/// Runs blocking file work without stalling the runtime's other tasks: on a multi-threaded
/// runtime the worker hands its other tasks away while `work` runs.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

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
        let mut diagnoses = FuturesUnordered::new();
        let mut feeds = ChangeFeeds::default();
        let mut checks_changed = inner
            .profile
            .changes(&inner.plan.nodes)
            .unwrap_or_else(|| stream::empty().boxed())
            .chain(stream::pending());
        let mut cancelling = false;
        let mut next_heartbeat = clock.now() + HEARTBEAT;
        loop {
            if !cancelling {
                while let Some(action) = machine.poll_action(clock.now()) {
                    self.flush(inner, machine, journal, &mut diagnoses)?;
                    in_flight.push(inner.clone().perform(action));
                }
            }
            if let Some(summary) = self.flush(inner, machine, journal, &mut diagnoses)? {
                while let Some(diagnosis) = diagnoses.next().await {
                    self.emit(RunEvent::Diagnosis(Box::new(diagnosis)));
                }
                return Ok(summary);
            }
            if cancelling && in_flight.is_empty() {
                return Err(Error::Cancelled);
            }
            if !cancelling {
                feeds.sync(machine, self.ports.talos.as_ref(), clock.now());
            }
            if clock.now() >= next_heartbeat {
                next_heartbeat = clock.now() + HEARTBEAT;
                blocking(|| lock.heartbeat())?;
            }
            let sleep_for = machine
                .poll_timeout()
                .map(|at| at.saturating_duration_since(clock.now()));
            if in_flight.is_empty() && sleep_for.is_none() && !cancelling && diagnoses.is_empty() {
                return Err(Error::Stalled);
            }
            tokio::select! {
                Some(observation) = in_flight.next(), if !in_flight.is_empty() => {
                    machine.handle(observation, clock.now());
                }
                Some(diagnosis) = diagnoses.next(), if !diagnoses.is_empty() => {
                    self.emit(RunEvent::Diagnosis(Box::new(diagnosis)));
                }
                report = feeds.next(), if !cancelling => {
                    feeds.report(machine, report, clock.now());
                }
                Some(node) = checks_changed.next(), if !cancelling => {
                    machine.checks_changed(&node, clock.now());
                }
                // Wake at the machine's next timeout, and at least every heartbeat interval.
                () = clock.sleep(sleep_for.map_or(HEARTBEAT, |d| d.min(HEARTBEAT))), if !cancelling => {}
                () = self.cancel.cancelled(), if !cancelling => {
                    cancelling = true;
                    let message = "cancelled: finishing the steps in flight, then stopping".to_owned();
                    self.emit(RolloutEvent::Warning { node: None, message });
                }
            }
        }
    }

    /// Persists journal entries and forwards events; each failure starts a diagnosis.
    fn flush(
        &self,
        inner: &Arc<Inner>,
        machine: &mut Rollout,
        journal: &mut Journal,
        diagnoses: &mut FuturesUnordered<futures::future::BoxFuture<'static, Diagnosis>>,
    ) -> crate::Result<Option<Summary>> {
        let entries: Vec<_> = std::iter::from_fn(|| machine.poll_journal()).collect();
        for entry in &entries {
            blocking(|| journal.append(entry))?;
            let appended = self.appended.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(kill_at) = &self.kill_at {
                kill_at.hit(&super::KillPoint::JournalEntry(appended));
            }
        }
        let mut finished = None;
        while let Some(event) = machine.poll_event() {
            match &event {
                RolloutEvent::NodeFailed { node, failure } => {
                    let inner = inner.clone();
                    let (node, failure) = (node.clone(), failure.clone());
                    diagnoses.push(Box::pin(
                        async move { inner.diagnose(&node, failure).await },
                    ));
                }
                RolloutEvent::Finished(summary) => finished = Some(summary.clone()),
                _ => {}
            }
            self.emit(event);
        }
        Ok(finished)
    }
}

impl Inner {
    async fn diagnose(&self, node: &str, failure: NodeFailure) -> Diagnosis {
        let service = self
            .plan_node(node)
            .and_then(|plan| plan.extension.service());
        let log_tail = match &service {
            Some(service) => self.service_log(node, service).await,
            None => Vec::new(),
        };
        let causes = self
            .profile
            .recognise(&log_tail, failure.last_verdict.as_ref());
        Diagnosis {
            node: node.to_owned(),
            failure,
            service,
            log_tail,
            causes,
        }
    }

    /// The service's log tail, with every secret of the node's config and whatever the
    /// profile recognises as secret replaced.
    async fn service_log(&self, node: &str, service: &str) -> Vec<String> {
        let call = self.ports.talos.service_log_tail(node, service, LOG_TAIL);
        let timeout = self.plan.settings.timeouts.step;
        let tail = tokio::select! {
            result = call => result.unwrap_or_else(|error| vec![format!("(log unavailable: {error})")]),
            () = self.ports.clock.sleep(timeout) => vec!["(log unavailable: no answer in time)".to_owned()],
        };
        let secrets = self.secret_values(node);
        tail.iter()
            .map(|line| {
                let line = secrets.iter().fold(line.clone(), |line, secret| {
                    line.replace(secret.as_str(), "<redacted>")
                });
                self.profile.redact_log_line(&line)
            })
            .collect()
    }

    /// The secret environment values of the node's config (never shown in a diagnosis).
    fn secret_values(&self, node: &str) -> Vec<String> {
        let Some(config) = self.configs.get(node) else {
            return Vec::new();
        };
        config
            .environment
            .iter()
            .filter_map(|entry| entry.split_once('='))
            .filter(|(key, value)| {
                talos_client::machine_config::is_secret_env_name(key) && !value.is_empty()
            })
            .map(|(_, value)| value.to_owned())
            .collect()
    }
}
