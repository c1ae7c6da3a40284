//! [`EventFeed`]: a node's `Events` stream that survives the node going away.

use futures::StreamExt;
use futures::stream::BoxStream;
use sdk_support::backoff::{Backoff, Delays};

use super::{EventsTail, MachineEvent};
use crate::client::NodeClient;
use crate::error::Error;

type Events = BoxStream<'static, Result<MachineEvent, Error>>;

/// What [`EventFeed::next`] yields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FeedItem {
    /// An event of the node.
    Event(MachineEvent),
    /// The stream ended or could not be (re)opened; the feed reconnects on its next call.
    Lost {
        /// What happened (`Unavailable`, end of stream, …).
        reason: String,
    },
    /// The stream is open (again); events may have been missed while it was lost, so a
    /// watcher re-reads whatever it waits for. After a loss the buffered events newer than
    /// the last one delivered follow (event IDs grow across reboots).
    Connected,
}

/// A node's event stream that reconnects by itself.
///
/// A reboot ends every stream of the node; the feed then reopens it on `backoff`'s exact
/// schedule (the waits start over once events flow again), asking for the buffered events
/// after the last one it delivered (all of them when it delivered none), so an event is
/// never delivered twice and one of the old boot never after a reconnection. It never gives up on transient
/// failures (`Unavailable`, reset streams): bound the wait yourself.
///
/// # Usage
/// ```no_run
/// # async fn run(node: talos_client::NodeClient) -> Result<(), talos_client::Error> {
/// use std::time::Duration;
/// use sdk_support::backoff::Backoff;
/// use talos_client::machine::{EventFeed, EventsTail, FeedItem};
///
/// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
/// let mut feed = EventFeed::new(node, EventsTail::None, backoff);
/// while let FeedItem::Event(_) | FeedItem::Connected = feed.next().await? {
///     // re-check what you wait for
/// }
/// # Ok(()) }
/// ```
pub struct EventFeed {
    node: NodeClient,
    first_tail: Option<EventsTail>,
    /// ID of the last event delivered: reconnections ask for what came after it.
    last_id: Option<String>,
    events: Option<Events>,
    policy: Backoff,
    waits: Delays,
    /// The next (re)connection waits first: set after a loss.
    wait_first: bool,
}

impl std::fmt::Debug for EventFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFeed")
            .field("node", &self.node.node())
            .field("connected", &self.events.is_some())
            .finish_non_exhaustive()
    }
}

impl EventFeed {
    /// A feed that opens its stream on the first [`next`](Self::next) with `tail`.
    ///
    /// `backoff` spaces reconnections; it is used without jitter or retry limit.
    pub fn new(node: NodeClient, tail: EventsTail, backoff: Backoff) -> Self {
        let policy = backoff.without_max_retries().without_jitter();
        Self {
            node,
            first_tail: Some(tail),
            last_id: None,
            events: None,
            waits: policy.delays(),
            policy,
            wait_first: false,
        }
    }

    /// Opens the stream now with `tail`, failing on any error (the node must be reachable).
    ///
    /// # Errors
    /// Whatever opening `MachineService.Events` fails with.
    pub async fn open(node: NodeClient, tail: EventsTail, backoff: Backoff) -> Result<Self, Error> {
        let mut feed = Self::new(node, EventsTail::All, backoff);
        feed.first_tail = None;
        feed.events = Some(feed.node.events(tail, None).await?);
        Ok(feed)
    }

    /// The next event, loss or reconnection.
    ///
    /// # Errors
    /// A failure that reconnecting cannot cure (permission denied, unimplemented, …).
    pub async fn next(&mut self) -> Result<FeedItem, Error> {
        let Some(events) = self.events.as_mut() else {
            return self.connect().await;
        };
        match events.next().await {
            Some(Ok(event)) => {
                self.waits = self.policy.delays();
                if !event.id.is_empty() {
                    self.last_id = Some(event.id.clone());
                }
                Ok(FeedItem::Event(event))
            }
            Some(Err(error)) if error.is_retryable() => Ok(self.lost(error.to_string())),
            Some(Err(error)) => Err(error),
            None => Ok(self.lost("the event stream ended".to_owned())),
        }
    }

    /// Closes the stream on purpose (e.g. the node announced it is going down); the next
    /// call reconnects after the next wait, asking for the events after the last delivered.
    pub fn drop_stream(&mut self) {
        self.events = None;
        self.wait_first = true;
    }

    /// As [`drop_stream`](Self::drop_stream), but the reconnection asks for every buffered
    /// event again (e.g. to re-check a "running and ready" that was read too early).
    pub fn replay(&mut self) {
        self.last_id = None;
        self.drop_stream();
    }

    fn lost(&mut self, reason: String) -> FeedItem {
        tracing::debug!(node = ?self.node.node(), %reason, "event stream lost");
        self.drop_stream();
        FeedItem::Lost { reason }
    }

    async fn connect(&mut self) -> Result<FeedItem, Error> {
        if std::mem::take(&mut self.wait_first) {
            let wait = self.waits.next().unwrap_or(self.policy.max_delay());
            tokio::time::sleep(wait).await;
        }
        let tail = self
            .first_tail
            .take()
            .unwrap_or_else(|| match &self.last_id {
                Some(id) => EventsTail::AfterId(id.clone()),
                None => EventsTail::All,
            });
        match self.node.events(tail, None).await {
            Ok(events) => {
                self.events = Some(events);
                Ok(FeedItem::Connected)
            }
            Err(error) if error.is_retryable() => Ok(self.lost(error.to_string())),
            Err(error) => Err(error),
        }
    }
}
