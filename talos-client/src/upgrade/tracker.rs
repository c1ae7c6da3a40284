//! Waiting for a node to go through a reboot: event-driven, tolerant of the node being
//! unreachable, confirmed by a changed boot ID.

use std::future::Future;

use futures::StreamExt;
use futures::stream::BoxStream;
use sdk_support::backoff::{Backoff, Delays};

use super::{Progress, WaitOptions, WaitOutcome};
use crate::client::NodeClient;
use crate::error::Error;
use crate::machine::{EventsTail, MachineEvent};

type Events = BoxStream<'static, Result<MachineEvent, Error>>;

/// Tracks one action (reboot, legacy upgrade) until the node runs a new boot.
pub(super) struct Tracker<'a, F> {
    node: &'a NodeClient,
    options: &'a WaitOptions,
    progress: &'a mut F,
    /// The node's version when the action started: how its boot ID is read.
    version: &'a str,
    boot_id_before: Option<String>,
    events: Option<Events>,
    /// Waits before the next reconnection attempts; starts over once events flow again.
    reconnect_waits: Delays,
}

impl<'a, F> Tracker<'a, F>
where
    F: FnMut(&Progress) + Send,
{
    /// Records the boot ID and opens the event stream, before the action runs.
    ///
    /// `version` is the node's version tag, which decides how the boot ID is read
    /// ([`NodeClient::boot_id_for`]). A certificate that may not read the boot ID skips
    /// the boot-ID check (as talosctl).
    pub(super) async fn new(
        node: &'a NodeClient,
        version: &'a str,
        options: &'a WaitOptions,
        progress: &'a mut F,
    ) -> Result<Self, Error> {
        let boot_id_before = match node.boot_id_for(version).await {
            Ok(boot_id) => Some(boot_id),
            Err(error) if error.is_permission_denied() => None,
            Err(error) => return Err(error),
        };
        let events = node.events(EventsTail::None, None).await?;
        Ok(Self {
            node,
            options,
            progress,
            version,
            boot_id_before,
            events: Some(events),
            reconnect_waits: reconnect_policy(options).delays(),
        })
    }

    /// Runs `action` (which returns the actor id, if any) and waits, within the timeout,
    /// until the node is running and ready in a new boot.
    pub(super) async fn run<A, Fut>(mut self, action: A) -> Result<WaitOutcome, Error>
    where
        A: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<String>, Error>>,
    {
        let actor_id = action().await?;
        (self.progress)(&Progress::ActionAccepted { actor_id });
        let (node, timeout) = (self.node, self.options.timeout);
        super::within(
            node,
            timeout,
            "waiting to reboot and report running and ready",
            self.wait(),
        )
        .await
    }

    async fn wait(&mut self) -> Result<WaitOutcome, Error> {
        // Without a boot ID, a "running and ready" only counts once the node was seen
        // going away; otherwise a replay of the old boot's events could end the wait.
        let mut went_away = false;
        loop {
            let Some(events) = self.events.as_mut() else {
                self.reconnect().await?;
                continue;
            };
            match events.next().await {
                Some(Ok(event)) => {
                    if let Some(error) = event.sequence_error() {
                        return Err(Error::OperationFailed {
                            target: self.node.context(crate::methods::EVENTS).target,
                            operation: "the action".to_owned(),
                            detail: format!(
                                "{error}; the node's events and kernel log (talosctl events, talosctl dmesg) tell why, fix that and retry"
                            ),
                        });
                    }
                    let ready = event.is_running_and_ready();
                    let going_down = event.is_going_down();
                    (self.progress)(&Progress::Event(event));
                    if ready && (went_away || self.boot_id_before.is_some()) {
                        if let Some(outcome) = self.confirm_new_boot().await? {
                            return Ok(outcome);
                        }
                        (self.progress)(&Progress::StillOldBoot);
                        self.events = None;
                    } else if going_down {
                        // Keep reading: the node has gone away only once this stream
                        // breaks. Reconnecting now could reach the old boot while it
                        // shuts down and replay its "running and ready".
                    } else {
                        self.reconnect_waits = reconnect_policy(self.options).delays();
                    }
                }
                Some(Err(error)) if is_transient(&error) => {
                    went_away = true;
                    self.disconnected(error.to_string());
                }
                Some(Err(error)) => return Err(error),
                None => {
                    went_away = true;
                    self.disconnected("the event stream ended".to_owned());
                }
            }
        }
    }

    fn disconnected(&mut self, reason: String) {
        tracing::debug!(node = ?self.node.node(), %reason, "node went away");
        (self.progress)(&Progress::Disconnected { reason });
        self.events = None;
    }

    /// Reopens the event stream with every event of the current boot, after a growing
    /// delay, until it opens or a non-transient error occurs.
    async fn reconnect(&mut self) -> Result<(), Error> {
        loop {
            let wait = self
                .reconnect_waits
                .next()
                .unwrap_or(self.options.max_backoff);
            tokio::time::sleep(wait).await;
            match self.node.events(EventsTail::All, None).await {
                Ok(events) => {
                    self.events = Some(events);
                    return Ok(());
                }
                Err(error) if is_transient(&error) => {
                    (self.progress)(&Progress::Disconnected {
                        reason: error.to_string(),
                    });
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `Some` when the boot ID differs from before (or cannot be checked); `None` when
    /// the node still runs the old boot or is momentarily unreachable.
    async fn confirm_new_boot(&mut self) -> Result<Option<WaitOutcome>, Error> {
        let Some(before) = &self.boot_id_before else {
            return Ok(Some(WaitOutcome {
                boot_id_before: None,
                boot_id_after: None,
                rebooted: true,
            }));
        };
        match self.node.boot_id_for(self.version).await {
            Ok(after) if after != *before => Ok(Some(WaitOutcome {
                boot_id_before: Some(before.clone()),
                boot_id_after: Some(after),
                rebooted: true,
            })),
            Ok(_) => Ok(None),
            Err(error) if is_transient(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// Reconnection waits: the SDK's backoff from `initial_backoff` doubling up to
/// `max_backoff`, exact (one node, no crowd to spread), unlimited: the overall timeout
/// bounds the wait.
fn reconnect_policy(options: &WaitOptions) -> Backoff {
    Backoff::new(options.initial_backoff, options.max_backoff)
        .without_max_retries()
        .without_jitter()
}

/// Failures expected while a node reboots: unreachable, cancelled or reset streams.
fn is_transient(error: &Error) -> bool {
    error.is_retryable()
}
