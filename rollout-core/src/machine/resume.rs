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
            if phase.is_terminal() {
                rollout.nodes[index].phase = phase;
                continue;
            }
            let resume_at = rollout.resume_phase(index, phase, live.get(&name));
            rollout.enter(index, resume_at, now);
        }
        // Replay set phases directly: derive the index again from what they are now.
        rollout.index = super::node_index::NodeIndex::build(&rollout.nodes);
        rollout
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
                    set.insert(*step);
                }
            }
            JournalEntry::NodeFailed { node, failure } => {
                if let Some(state) = find_node(&mut self.nodes, node) {
                    state.failure = Some((**failure).clone());
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
        if node.failure.is_some() {
            return Phase::Halted;
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
        } else if done(Step::Install) {
            Phase::Reboot
        } else if started(Step::Install) || done(Step::Drain) {
            Phase::Install
        } else if done(Step::Cordon) {
            Phase::Drain
        } else if done(Step::ApplyConfig) {
            self.next_after(index, Phase::ApplyConfig)
        } else if done(Step::BackupConfig) {
            Phase::ApplyConfig
        } else {
            Phase::Precheck
        }
    }
}

fn find_node<'a>(nodes: &'a mut [NodeState], name: &str) -> Option<&'a mut NodeState> {
    nodes.iter_mut().find(|node| node.plan.node == name)
}
