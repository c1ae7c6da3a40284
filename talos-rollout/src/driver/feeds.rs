//! The change feeds of the nodes the machine watches ([`Rollout::watched_nodes`]): one
//! [`TalosPort::changes`] stream per node, opened when the node becomes active and closed
//! when it leaves, each of its reports handed to the machine. A feed that ends for good
//! (a failure reconnecting cannot cure) is not reopened: its node is polled.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use futures::stream::{AbortHandle, Abortable, BoxStream, SelectAll};
use futures::{StreamExt, stream};
use rollout_core::machine::Rollout;

use crate::ports::{NodeChange, TalosPort};

/// One report of a feed; `None`: the feed ended for good.
type Report = (String, Option<NodeChange>);

/// The open change feeds.
#[derive(Default)]
pub(crate) struct ChangeFeeds {
    streams: SelectAll<Abortable<BoxStream<'static, Report>>>,
    open: HashMap<String, AbortHandle>,
    /// Nodes whose feed ended for good (or that have none): polled only.
    ended: HashSet<String>,
}

impl ChangeFeeds {
    /// Opens a feed for every watched node without one and closes the feeds of the others.
    pub(crate) fn sync(&mut self, machine: &mut Rollout, talos: &dyn TalosPort, now: Instant) {
        if self.in_sync(machine) {
            return;
        }
        let watched: HashSet<String> = machine.watched_nodes().map(str::to_owned).collect();
        let closed: Vec<String> = self
            .open
            .keys()
            .filter(|node| !watched.contains(node.as_str()))
            .cloned()
            .collect();
        for node in closed {
            if let Some(handle) = self.open.remove(&node) {
                handle.abort();
            }
            machine.change_feed(&node, false, now);
        }
        for node in &watched {
            if self.open.contains_key(node) || self.ended.contains(node) {
                continue;
            }
            let Some(changes) = talos.changes(node) else {
                self.ended.insert(node.clone());
                continue;
            };
            let name = node.to_owned();
            let reports = changes
                .map(move |change| (name.clone(), Some(change)))
                .chain(stream::once(std::future::ready((node.clone(), None))))
                .boxed();
            let (handle, registration) = AbortHandle::new_pair();
            self.streams.push(Abortable::new(reports, registration));
            self.open.insert(node.clone(), handle);
        }
    }

    /// Whether the open feeds are exactly the watched nodes whose feed has not ended. Runs on
    /// every turn of the driver's loop, so it allocates nothing: every watched node is open
    /// or ended, and as many watched nodes are open as feeds are.
    fn in_sync(&self, machine: &Rollout) -> bool {
        let mut watched_open = 0;
        for node in machine.watched_nodes() {
            if self.open.contains_key(node) {
                watched_open += 1;
            } else if !self.ended.contains(node) {
                return false;
            }
        }
        watched_open == self.open.len()
    }

    /// The next report of any feed; pending forever while none is open.
    pub(crate) async fn next(&mut self) -> Report {
        loop {
            if self.streams.is_empty() {
                return std::future::pending().await;
            }
            if let Some(report) = self.streams.next().await {
                return report;
            }
        }
    }

    /// Hands a report to the machine.
    pub(crate) fn report(&mut self, machine: &mut Rollout, (node, change): Report, now: Instant) {
        match change {
            Some(NodeChange::Changed) => machine.node_changed(&node, now),
            Some(NodeChange::Connected) => machine.change_feed(&node, true, now),
            Some(NodeChange::Lost) => machine.change_feed(&node, false, now),
            None => {
                self.open.remove(&node);
                self.ended.insert(node.clone());
                machine.change_feed(&node, false, now);
            }
        }
    }
}
