//! How a node waits between checks: woken by a change of what it waits for, or at a time.
//!
//! Talos-side conditions (boot ID, machine running and ready, extensions, ESC status,
//! services) change on the node, which announces every change on its event stream. The
//! machine cannot open streams; it names the nodes it wants to hear about
//! ([`Rollout::watched_nodes`]) and the driver keeps a change feed per node, reporting
//! [`Rollout::node_changed`] and [`Rollout::change_feed`]. A failed Talos-side check is
//! repeated on the next change of its node, at the latest after the safety net
//! ([`SAFETY_NET_INTERVALS`] check intervals); while a node's feed is lost (a reboot ends
//! every stream) or was never connected, it is polled every check interval as before.
//! Checks no feed can see (named checks: the tailnet, user gates; Kubernetes readiness;
//! cluster health, which spans nodes without a feed) are polled on an adaptive schedule:
//! fast right after the phase began, backing off to the check interval (a change of a
//! watched node still wakes them at once).

use std::time::{Duration, Instant};

use super::{Phase, Rollout, Step};
use crate::facts::NodeRole;
use crate::gate::{GateStage, GateVerdict, conditions, stage_gate};

/// With its change feed connected, a node's failed Talos-side check is repeated on the next
/// change, and at the latest after this many check intervals (the safety net for a change
/// the feed did not carry).
pub const SAFETY_NET_INTERVALS: u32 = 5;

/// The adaptive schedule's first wait is the check interval divided by this.
const FAST_POLL_DIVISOR: u32 = 8;
/// The adaptive schedule doubles its wait after this many checks, up to the check interval:
/// with [`FAST_POLL_DIVISOR`] checks per step, the first check interval is covered at the
/// fastest rate (when a device typically appears), the next two at half of it, and so on.
const FAST_POLL_CHECKS_PER_STEP: u32 = FAST_POLL_DIVISOR;

impl Rollout {
    /// The nodes whose changes the machine wants to hear about (every node in an active
    /// phase). The driver keeps one change feed per listed node and closes the others.
    pub fn watched_nodes(&self) -> impl Iterator<Item = &str> + '_ {
        self.index.active().map(|index| self.nodes[index].name())
    }

    /// Something changed on `node` (an event on its change feed, or the feed reconnected):
    /// its waiting check runs now, and so does every waiting precheck (the cluster's health
    /// includes `node`). A change during a check makes a failed check run again at once.
    pub fn node_changed(&mut self, node: &str, now: Instant) {
        let Some(changed) = self.index.position(node) else {
            return;
        };
        let active: Vec<usize> = self.index.active().collect();
        for index in active {
            let cluster_wide = self.nodes[index].phase == Phase::Precheck;
            if index == changed || cluster_wide {
                self.wake_on_change(index, now);
            }
        }
    }

    /// What a named check of `node` reads changed (the profile saw it: for Tailscale, a new
    /// listing of the tailnet shows the node's device changed). A node waiting after a
    /// failed gate checks again now instead of at its next poll; nothing else is woken (a
    /// named check tells nothing about the cluster's health or the node's boot).
    pub fn checks_changed(&mut self, node: &str, now: Instant) {
        let Some(index) = self.index.position(node) else {
            return;
        };
        let state = &self.nodes[index];
        let after_failed_gate = state
            .last_verdict
            .as_ref()
            .is_some_and(|verdict| !verdict.passed);
        if state.phase.is_active() && after_failed_gate {
            self.wake_on_change(index, now);
        }
    }

    /// The node's change feed connected (`true`; events may have been missed, so its
    /// waiting check runs now) or was lost (`false`; the node is polled every check
    /// interval until it connects again).
    pub fn change_feed(&mut self, node: &str, connected: bool, now: Instant) {
        let Some(index) = self.index.position(node) else {
            return;
        };
        let interval = self.timeouts.check_interval;
        let state = &mut self.nodes[index];
        state.feed_connected = connected;
        if connected {
            self.node_changed(node, now);
        } else if state.waiting_for_change {
            let fallback = now + interval;
            state.wake_at = Some(state.wake_at.map_or(fallback, |wake| wake.min(fallback)));
        }
    }

    fn wake_on_change(&mut self, index: usize, now: Instant) {
        let node = &mut self.nodes[index];
        if node.in_flight.is_some() {
            node.changed_during_check = true;
        } else if node.waiting_for_change {
            node.wake_at = Some(now);
        }
    }

    /// After a transient failure: the next try comes one check interval later, or earlier
    /// when the node changes.
    pub(crate) fn retry_later(&mut self, index: usize, now: Instant) {
        self.nodes[index].attempts += 1;
        let interval = self.timeouts.check_interval;
        self.wait_until(index, now, interval);
    }

    /// After a boot probe that did not find what the phase waits for.
    pub(crate) fn probe_again(&mut self, index: usize, now: Instant) {
        self.nodes[index].attempts += 1;
        self.wait_for_change(index, Step::ProbeBoot, None, now);
    }

    /// After a failed check of `step` (counted in `attempts` by the caller): the next one comes on the next change the node's
    /// feed reports (at the latest after the safety net), or on the adaptive schedule for
    /// checks no feed can see, or every check interval without a feed.
    pub(crate) fn wait_for_change(
        &mut self,
        index: usize,
        step: Step,
        verdict: Option<&GateVerdict>,
        now: Instant,
    ) {
        let interval = self.timeouts.check_interval;
        let node = &self.nodes[index];
        let delay = if !self.feed_can_see(index, step, verdict) {
            adaptive_delay(interval, node.attempts)
        } else if node.feed_connected {
            interval.saturating_mul(SAFETY_NET_INTERVALS)
        } else {
            interval
        };
        if std::mem::take(&mut self.nodes[index].changed_during_check) {
            self.wait_until(index, now, Duration::ZERO);
        } else {
            self.wait_until(index, now, delay);
        }
    }

    fn wait_until(&mut self, index: usize, now: Instant, delay: Duration) {
        let node = &mut self.nodes[index];
        node.waiting_for_change = true;
        node.wake_at = Some(now + delay);
    }

    /// Whether the node's event stream announces every change `step` waits for: boot probes
    /// and gates of the node's own Talos-side conditions (no named check, no cluster health,
    /// which spans nodes without a feed, Kubernetes readiness not among the failing checks).
    fn feed_can_see(&self, index: usize, step: Step, verdict: Option<&GateVerdict>) -> bool {
        let Step::CheckGate(stage) = step else {
            return step == Step::ProbeBoot;
        };
        let kubernetes_failing = verdict.is_some_and(|verdict| {
            verdict
                .checks
                .iter()
                .any(|check| !check.passed && check.name == conditions::KUBERNETES_READY)
        });
        !kubernetes_failing && self.stage_needs_only_the_node(index, stage)
    }

    /// Whether the stage's gate looks at the node alone (no named check, no cluster).
    fn stage_needs_only_the_node(&self, index: usize, stage: GateStage) -> bool {
        let etcd_members = self
            .nodes
            .iter()
            .filter(|node| node.plan.role == NodeRole::ControlPlane)
            .count();
        let gate = stage_gate(stage, &self.nodes[index].plan, etcd_members, &self.settings);
        let needs = gate.condition().needs();
        needs.named.is_empty() && !needs.cluster
    }
}

/// The adaptive schedule: a fraction of the check interval at first, doubling every few
/// checks up to the check interval.
fn adaptive_delay(interval: Duration, attempts: u32) -> Duration {
    let doublings = (attempts / FAST_POLL_CHECKS_PER_STEP).min(FAST_POLL_DIVISOR.ilog2());
    (interval / FAST_POLL_DIVISOR)
        .saturating_mul(1 << doublings)
        .min(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adaptive_schedule_starts_fast_and_backs_off_to_the_interval() {
        let interval = Duration::from_secs(8);
        let delays: Vec<u64> = (0..34)
            .map(|attempts| adaptive_delay(interval, attempts).as_secs())
            .collect();
        let mut expected = Vec::new();
        for wait in [1, 2, 4, 8] {
            expected.extend([wait; 8]);
        }
        expected.extend([8, 8]);
        assert_eq!(delays, expected, "wait per attempt");
        // Each step spans one more doubling of the interval: 8 s, 16 s, 32 s.
        let elapsed = |checks: u32| -> u64 {
            (0..checks)
                .map(|attempts| adaptive_delay(interval, attempts).as_secs())
                .sum()
        };
        assert_eq!([elapsed(8), elapsed(16), elapsed(24)], [8, 24, 56]);
    }
}
