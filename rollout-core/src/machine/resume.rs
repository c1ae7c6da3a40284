//! Resume: rebuild a [`Rollout`] from its journal reconciled with live node state.

use std::collections::BTreeMap;
use std::time::Instant;

use super::JournalEntry;
use super::node_state::NodeState;
use super::{LiveNode, MachineOptions, Phase, RollbackStep, Rollout, Step};
use crate::plan::Plan;

impl Rollout {
    /// Rebuilds the machine after a crash or cancellation.
    ///
    /// `entries` are the journal lines after `Started` (in order); `live` holds what each
    /// node reports now (a node missing from `live` is treated as unreachable). A completed
    /// disruptive step is never issued again: a node whose boot ID changed since the
    /// journaled one continues at verification, a node whose reboot was requested waits for
    /// it, an installed node is rebooted, and a node that failed stays halted (its rollback,
    /// if one was under way, continues).
    pub fn resume(
        plan: Plan,
        entries: &[JournalEntry],
        live: &BTreeMap<String, LiveNode>,
        options: MachineOptions,
        now: Instant,
    ) -> Self {
        let mut rollout = Rollout::new(plan, options, now);
        rollout.drain_events();
        let mut last_phase: BTreeMap<String, Phase> = BTreeMap::new();
        for entry in entries {
            rollout.replay(entry, &mut last_phase);
        }
        for index in 0..rollout.nodes.len() {
            let name = rollout.nodes[index].plan.node.clone();
            if rollout.nodes[index].failure.is_some() {
                rollout.halt_rollout(index);
            }
            let Some(phase) = last_phase.get(&name).copied() else {
                continue;
            };
            if phase.is_terminal() || phase == Phase::Pending {
                rollout.nodes[index].phase = phase;
                continue;
            }
            let resume_at = rollout.resume_phase(index, phase, live.get(&name));
            rollout.enter(index, resume_at, now);
            rollout.mark_unconfirmed(index);
        }
        // Replay set phases directly: derive the index again from what they are now.
        rollout.index = super::node_index::NodeIndex::build(&rollout.nodes);
        rollout
    }

    /// Continues a rollout that halted, once the operator fixed the cause: every failed node
    /// that is not rolled back is retried from a safe point (what the journal says was done,
    /// reconciled with the live boot ID exactly as [`Rollout::resume`] does: a completed
    /// disruptive step is never issued again, an unanswered one is resolved by probing), a
    /// node that never started is pending again, and rolled-back nodes stay rolled back
    /// without holding up the others. Returns false when nothing had halted.
    ///
    /// Call it on a machine from [`Rollout::resume`]; `live` is what each node reports now.
    pub fn retry_halted(&mut self, live: &BTreeMap<String, LiveNode>, now: Instant) -> bool {
        let halted: Vec<usize> = (0..self.nodes.len())
            .filter(|&index| matches!(self.nodes[index].phase, Phase::Halted | Phase::NotStarted))
            .collect();
        if halted.is_empty() && !self.is_halted() {
            return false;
        }
        self.clear_halt();
        self.finished = false;
        for index in halted {
            let node = &mut self.nodes[index];
            let Some(failure) = node.failure.take() else {
                node.phase = Phase::Pending;
                let name = node.plan.node.clone();
                self.record(JournalEntry::PhaseEntered {
                    node: name,
                    phase: Phase::Pending,
                });
                continue;
            };
            let name = node.plan.node.clone();
            let resume_at = self.retry_phase(index, failure.phase, live.get(&name));
            self.warn(
                Some(index),
                format!("retrying from {resume_at} after: {}", failure.reason),
            );
            self.enter(index, resume_at, now);
            self.mark_unconfirmed(index);
        }
        for node in &mut self.nodes {
            if node.phase == Phase::RolledBack {
                node.failure = None;
            }
        }
        // Never-started nodes were set back to Pending directly: derive the index again.
        self.index = super::node_index::NodeIndex::build(&self.nodes);
        true
    }

    /// Where a failed node is retried: as after a crash, except that a node still up on the
    /// boot recorded before its reboot never went through with it (a failed legacy upgrade
    /// sequence, a lost reboot request) and waiting again would only time out again, so the
    /// step that should have rebooted it is taken again: the legacy install (probed first,
    /// sent only to an idle node) or the reboot.
    fn retry_phase(&self, index: usize, failed_in: Phase, live: Option<&LiveNode>) -> Phase {
        let phase = self.resume_phase(index, failed_in, live);
        let node = &self.nodes[index];
        let same_boot = node.boot_before.is_some()
            && live.and_then(|live| live.boot_id.as_ref()) == node.boot_before.as_ref();
        if phase != Phase::AwaitReboot || !same_boot {
            return phase;
        }
        if self.install_may_reboot(index) && !node.started.contains(&Step::Reboot) {
            Phase::Install
        } else {
            Phase::Reboot
        }
    }

    fn drain_events(&mut self) {
        while self.poll_event().is_some() {}
        while self.poll_journal().is_some() {}
    }

    fn replay(&mut self, entry: &JournalEntry, last_phase: &mut BTreeMap<String, Phase>) {
        match entry {
            JournalEntry::PhaseEntered { node, phase } => {
                last_phase.insert(node.clone(), *phase);
                if let Some(state) = find_node(&mut self.nodes, node) {
                    state.phase = *phase;
                    // A failed node only re-enters a forward phase when it is retried.
                    // The uncordon after a failed drain is part of that failure.
                    let undoing_drain = *phase == Phase::Uncordon
                        && state
                            .failure
                            .as_ref()
                            .is_some_and(|failure| failure.phase == Phase::Drain);
                    if *phase == Phase::Pending
                        || (phase.is_active()
                            && !matches!(phase, Phase::Rollback(_))
                            && !undoing_drain)
                    {
                        state.failure = None;
                    }
                }
            }
            JournalEntry::BootRecorded {
                node,
                boot_id,
                rollback,
            } => {
                if let Some(state) = find_node(&mut self.nodes, node) {
                    let slot = if *rollback {
                        &mut state.rollback_boot_before
                    } else {
                        &mut state.boot_before
                    };
                    *slot = Some(boot_id.clone());
                }
            }
            JournalEntry::StepStarted { node, step }
            | JournalEntry::StepCompleted { node, step } => {
                let completed = matches!(entry, JournalEntry::StepCompleted { .. });
                if let Some(state) = find_node(&mut self.nodes, node) {
                    let set = match (state.in_rollback(), completed) {
                        (false, false) => &mut state.started,
                        (false, true) => &mut state.completed,
                        (true, false) => &mut state.rollback_started,
                        (true, true) => &mut state.rollback_completed,
                    };
                    super::node_state::complete(set, *step);
                }
            }
            JournalEntry::NodeFailed { node, failure } => {
                if let Some(state) = find_node(&mut self.nodes, node) {
                    state.failure = Some((**failure).clone());
                }
            }
            JournalEntry::RollbackToOriginal { node, original } => {
                if let Some(index) = self.nodes.iter().position(|state| &state.plan.node == node) {
                    self.aim_at_original(index, original.clone());
                }
            }
            JournalEntry::Started { .. } | JournalEntry::Finished { .. } => {}
        }
    }

    /// Where an interrupted node continues, from what the journal says was done and the live boot ID.
    fn resume_phase(&self, index: usize, journaled: Phase, live: Option<&LiveNode>) -> Phase {
        let node = &self.nodes[index];
        if let Phase::Rollback(_) = journaled {
            return Phase::Rollback(RollbackStep::Inspect);
        }
        if let Some(failure) = &node.failure {
            // A failed drain is followed by the uncordon; a crash may have cut in between.
            let uncordon = failure.phase == Phase::Drain
                && matches!(journaled, Phase::Drain | Phase::Uncordon)
                && self.cordoned_by_us(index);
            return if uncordon {
                Phase::Uncordon
            } else {
                Phase::Halted
            };
        }
        if matches!(
            journaled,
            Phase::Verify | Phase::PostVerify | Phase::Uncordon | Phase::Soak
        ) {
            return journaled;
        }
        let done = |step| node.completed.contains(&step);
        let started = |step| node.started.contains(&step);
        let live_boot = live.and_then(|live| live.boot_id.as_ref());
        let rebooted = node.boot_before.is_some()
            && live_boot.is_some()
            && live_boot != node.boot_before.as_ref();
        if started(Step::Install) && rebooted {
            Phase::Verify
        } else if started(Step::Reboot) || journaled == Phase::AwaitReboot {
            Phase::AwaitReboot
        } else if done(Step::Install) && self.install_may_reboot(index) {
            // The legacy upgrade reboots the node by itself: wait for it, never reboot it.
            Phase::AwaitReboot
        } else if done(Step::Drain) && self.cordoned_by_us(index) {
            Phase::Reboot
        } else if self.cordoned_by_us(index) {
            Phase::Drain
        } else if done(Step::Install) {
            // Cordon (again, after a failed drain was undone) or reboot.
            self.next_after(index, Phase::Install)
        } else if started(Step::Install) {
            Phase::Install
        } else if done(Step::ApplyConfig) {
            self.next_after(index, Phase::ApplyConfig)
        } else if done(Step::BackupConfig) {
            Phase::ApplyConfig
        } else {
            Phase::Precheck
        }
    }

    /// After resuming into `Install`, `AwaitReboot` or a rollback's `BootPrevious`: a request
    /// journaled as intended whose answer never arrived may or may not have been sent, so it
    /// is resolved by probing the node (boot ID, running and ready) before anything is sent
    /// again (a plain reboot is sent again to a node running and ready on the boot from
    /// before), and a reboot that never comes is reported as unconfirmed.
    pub(crate) fn mark_unconfirmed(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        let (started, completed) = if node.in_rollback() {
            (&node.rollback_started, &node.rollback_completed)
        } else {
            (&node.started, &node.completed)
        };
        let unanswered = |step| started.contains(&step) && !completed.contains(&step);
        match node.phase {
            Phase::Install if started.contains(&Step::Install) => {
                // Resumed or retried: whether (and how far) the install ran is unknown.
                node.install_unconfirmed = true;
                node.install_send_unknown = true;
            }
            Phase::Rollback(RollbackStep::BootPrevious) if unanswered(Step::BootPrevious) => {
                node.install_unconfirmed = true;
                node.install_send_unknown = true;
            }
            Phase::AwaitReboot | Phase::Rollback(RollbackStep::AwaitReboot) => {
                let reboot_unanswered = unanswered(Step::Reboot);
                node.reboot_unconfirmed = reboot_unanswered || unanswered(Step::BootPrevious);
                // As after a reboot request that got no answer live: one that never left the
                // crashed process is asked again once the node shows it never started (running
                // and ready on the boot from before); the Rollback RPC never is.
                node.reboot_resend_from = reboot_unanswered.then_some(if node.in_rollback() {
                    Phase::Rollback(RollbackStep::Reboot)
                } else {
                    Phase::Reboot
                });
            }
            _ => {}
        }
    }
}

fn find_node<'a>(nodes: &'a mut [NodeState], name: &str) -> Option<&'a mut NodeState> {
    nodes.iter_mut().find(|node| node.plan.node == name)
}
