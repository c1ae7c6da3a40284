//! Waiting for a node to go through a reboot: event-driven, tolerant of the node being
//! unreachable, confirmed by a changed boot ID.

use std::future::Future;

use sdk_support::backoff::Backoff;

use super::{Progress, WaitOptions, WaitOutcome};
use crate::client::NodeClient;
use crate::error::Error;
use crate::machine::{EventFeed, EventsTail, FeedItem};

/// Tracks one action (reboot, legacy upgrade) until the node runs a new boot.
pub(super) struct Tracker<'a, F> {
    node: &'a NodeClient,
    options: &'a WaitOptions,
    progress: &'a mut F,
    /// The node's version when the action started: how its boot ID is read.
    version: &'a str,
    boot_id_before: Option<String>,
    /// The node's events, reopened on the SDK's backoff when the node goes away.
    feed: EventFeed,
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
        // From `initial_backoff` doubling up to `max_backoff`, exact (one node, no crowd to
        // spread), unlimited: the overall timeout bounds the wait.
        let backoff = Backoff::new(options.initial_backoff, options.max_backoff);
        let feed = EventFeed::open(node.clone(), EventsTail::None, backoff).await?;
        Ok(Self {
            node,
            options,
            progress,
            version,
            boot_id_before,
            feed,
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
            let event = match self.feed.next().await? {
                FeedItem::Event(event) => event,
                FeedItem::Lost { reason } => {
                    went_away = true;
                    tracing::debug!(node = ?self.node.node(), %reason, "node went away");
                    (self.progress)(&Progress::Disconnected { reason });
                    continue;
                }
                FeedItem::Connected => continue,
            };
            if let Some(error) = event.sequence_error() {
                return Err(Error::OperationFailed {
                    target: self.node.context(crate::methods::EVENTS).target,
                    operation: "the action".to_owned(),
                    detail: format!(
                        "{error}; the node's events and kernel log (talosctl events, talosctl dmesg) tell why, fix that and retry"
                    ),
                });
            }
            // After "going down" the stream is read on: the node has gone away only once it
            // breaks. Reconnecting earlier could reach the old boot while it shuts down.
            let ready = event.is_running_and_ready();
            (self.progress)(&Progress::Event(event));
            if ready && (went_away || self.boot_id_before.is_some()) {
                if let Some(outcome) = self.confirm_new_boot().await? {
                    return Ok(outcome);
                }
                (self.progress)(&Progress::StillOldBoot);
                self.feed.replay();
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

/// Failures expected while a node reboots: unreachable, cancelled or reset streams.
fn is_transient(error: &Error) -> bool {
    error.is_retryable()
}
