//! Drives a [`Rollout`] against a [`World`] like the driver would, checking the invariants
//! after every step. Actions may be completed out of order (concurrent workers).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rollout_core::NodeRole;
use rollout_core::extension::PostVerifyStep;
use rollout_core::gate::GateStage;
use rollout_core::machine::{
    Action, JournalEntry, MachineOptions, NodeRequest, Observation, Phase, RollbackMethod, Rollout,
    RolloutEvent, Step,
};
use rollout_core::plan::Plan;

use super::world::World;

pub struct Harness {
    pub rollout: Rollout,
    pub world: World,
    pub now: Instant,
    pub journal: Vec<JournalEntry>,
    pub events: Vec<RolloutEvent>,
    pub pending: Vec<Action>,
    pub max_unavailable: usize,
    /// Nodes whose precheck gate passed (they may be changed).
    pub prechecked: BTreeSet<String>,
    /// Forward disruptive steps the machine saw complete, per node.
    pub completed: BTreeSet<(String, Step)>,
    /// Nodes that were converged before they were touched.
    pub converged_untouched: BTreeSet<String>,
    pub handled: usize,
    pub options: MachineOptions,
    /// Reboots that took effect per (node, during rollback).
    pub reboots: BTreeMap<(String, bool), u32>,
    /// Post-verify steps passed since the node last entered PostVerify.
    pub post_verify_passed: BTreeMap<String, usize>,
    /// Journal length before the last observation was handled.
    pub journal_before_handle: usize,
}

impl Harness {
    pub fn new(plan: Plan, world: World, now: Instant) -> Self {
        Self::with_options(plan, world, now, MachineOptions::default())
    }

    pub fn with_options(plan: Plan, world: World, now: Instant, options: MachineOptions) -> Self {
        let converged_untouched = plan
            .nodes
            .iter()
            .filter(|n| n.is_skipped())
            .map(|n| n.node.clone())
            .collect();
        let max_unavailable = plan.settings.max_unavailable;
        let rollout = Rollout::new(plan, options, now);
        Harness {
            rollout,
            world,
            now,
            journal: Vec::new(),
            events: Vec::new(),
            pending: Vec::new(),
            max_unavailable,
            prechecked: BTreeSet::new(),
            completed: BTreeSet::new(),
            converged_untouched,
            handled: 0,
            options,
            reboots: BTreeMap::new(),
            post_verify_passed: BTreeMap::new(),
            journal_before_handle: 0,
        }
    }

    /// Someone else converged `node` after planning: the rollout must find it and leave it alone.
    pub fn converge_behind_the_plan(&mut self, node: &str) {
        let target = self.world.plan.node(node).unwrap().clone();
        let sim = self.world.nodes.get_mut(node).unwrap();
        sim.running.version.clone_from(&target.to.version);
        sim.running.schematic_id.clone_from(&target.to.schematic_id);
        if let Some(esc) = target.extension.esc {
            sim.escs.insert(esc.name, esc.digest);
        }
        self.converged_untouched.insert(node.to_owned());
    }

    /// Replaces the machine after a crash: in-flight results are lost, the journal survives.
    pub fn crash_and_resume(&mut self) {
        self.pending.clear();
        self.resume();
    }

    /// A crash while the driver performs an action: the node changes, the result is lost.
    pub fn crash_mid_action_and_resume(&mut self) {
        self.poll_actions();
        if !self.pending.is_empty() {
            let action = self.pending.remove(0);
            let _lost = self.perform(&action);
        }
        self.crash_and_resume();
    }

    /// A crash after the next actions were journaled as started, before any was sent.
    pub fn crash_before_sending_and_resume(&mut self) {
        self.poll_actions();
        self.crash_and_resume();
    }

    /// A crash while the entries of the last observation are written: only the first of
    /// them (e.g. `step_completed`, not the `phase_entered` that follows) reached the disk.
    pub fn crash_mid_journal_and_resume(&mut self) {
        let keep = (self.journal_before_handle + 1).min(self.journal.len());
        self.journal.truncate(keep);
        self.crash_and_resume();
    }

    /// The operator resumes a halted rollout after fixing its cause.
    pub fn resume_halted(&mut self) {
        self.crash_and_resume();
        let live = self.world.live();
        assert!(
            self.rollout.retry_halted(&live, self.now),
            "nothing had halted"
        );
        self.drain();
    }

    fn resume(&mut self) {
        let plan = self.world.plan.clone();
        self.rollout = Rollout::resume(
            plan,
            &self.journal,
            &self.world.live(),
            self.options,
            self.now,
        );
        for status in self.rollout.status() {
            if !matches!(status.phase, Phase::Pending | Phase::Precheck) {
                self.prechecked.insert(status.node);
            }
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(entry) = self.rollout.poll_journal() {
            self.journal.push(entry);
        }
        while let Some(event) = self.rollout.poll_event() {
            self.check_event(&event);
            self.events.push(event);
        }
    }

    fn check_event(&mut self, event: &RolloutEvent) {
        match event {
            RolloutEvent::GateProgress {
                node,
                stage: GateStage::Precheck,
                verdict,
                ..
            } if verdict.passed => {
                self.prechecked.insert(node.clone());
            }
            RolloutEvent::GateProgress {
                node,
                stage: GateStage::PostVerify(index),
                verdict,
                ..
            } if verdict.passed => {
                self.post_verify_passed
                    .insert(node.clone(), usize::from(*index) + 1);
            }
            RolloutEvent::PhaseChanged {
                node,
                from: Phase::Pending,
                to: Phase::Precheck,
            } => {
                self.check_leader_last(node);
                let failed: Vec<_> = self
                    .rollout
                    .status()
                    .into_iter()
                    .filter(|s| s.failure.is_some())
                    .collect();
                assert!(
                    failed.is_empty(),
                    "{node} started while {failed:?} had failed"
                );
            }
            RolloutEvent::PhaseChanged { node, from, to } => {
                self.check_post_verify_walk(node, *from, *to);
            }
            _ => {}
        }
    }

    /// A verified node walks every post-verify step of its plan, in order, before it moves
    /// on; a node without steps goes straight from Verify on. Entering PostVerify (also when
    /// a resume re-enters it) starts the walk from its first step.
    fn check_post_verify_walk(&mut self, node: &str, from: Phase, to: Phase) {
        let steps = self
            .world
            .plan
            .node(node)
            .unwrap()
            .extension
            .post_verify
            .len();
        let forward = from != to && matches!(to, Phase::Uncordon | Phase::Soak);
        match (from, to) {
            (_, Phase::PostVerify) => {
                assert!(steps > 0, "{node} entered PostVerify without steps");
                self.post_verify_passed.insert(node.to_owned(), 0);
            }
            (Phase::Verify, _) if forward => {
                assert_eq!(steps, 0, "{node} skipped its post-verify steps");
            }
            (Phase::PostVerify, _) if forward => {
                let passed = self.post_verify_passed.get(node).copied().unwrap_or(0);
                assert_eq!(
                    passed, steps,
                    "{node} left PostVerify after {passed} of {steps} steps"
                );
            }
            _ => {}
        }
    }

    /// A post-verify request is the node's next unpassed step of its plan.
    fn check_post_verify_request(&self, node: &str, request: &NodeRequest) {
        let next = self.post_verify_passed.get(node).copied().unwrap_or(0);
        let planned = self
            .world
            .plan
            .node(node)
            .unwrap()
            .extension
            .post_verify
            .get(next);
        match request {
            NodeRequest::CheckGate {
                stage: GateStage::PostVerify(index),
                ..
            } => {
                assert_eq!(
                    usize::from(*index),
                    next,
                    "{node}: post-verify step out of order"
                );
                assert!(
                    matches!(planned, Some(PostVerifyStep::Check { .. })),
                    "{node}: checks step {index} which is {planned:?}"
                );
            }
            NodeRequest::ExtensionAction { action } => assert!(
                matches!(planned, Some(PostVerifyStep::Act { action: want }) if want == action),
                "{node}: action {action} while the next step is {planned:?}"
            ),
            _ => return,
        }
        assert_eq!(
            self.phase_of(node),
            Phase::PostVerify,
            "{node}: post-verify request outside PostVerify"
        );
    }

    /// The etcd leader starts only once every other control-plane node finished.
    fn check_leader_last(&self, node: &str) {
        let plan = &self.world.plan;
        if !plan.node(node).is_some_and(|n| n.etcd_leader) {
            return;
        }
        let status = self.rollout.status();
        let unfinished: Vec<_> = status
            .iter()
            .filter(|s| s.node != node && s.role == NodeRole::ControlPlane)
            .filter(|s| !s.phase.is_terminal())
            .collect();
        assert!(
            unfinished.is_empty(),
            "etcd leader {node} started before {unfinished:?}"
        );
    }

    fn phase_of(&self, node: &str) -> Phase {
        self.rollout
            .status()
            .into_iter()
            .find(|s| s.node == node)
            .unwrap()
            .phase
    }

    fn check_action(&self, action: &Action) {
        let Action::Node { node, request, .. } = action else {
            return;
        };
        let step = request.step();
        self.check_post_verify_request(node, request);
        let in_rollback = matches!(self.phase_of(node), Phase::Rollback(_));
        if step.is_disruptive() && !in_rollback {
            assert!(
                self.prechecked.contains(node),
                "{node}: {step:?} before its precheck gate passed"
            );
            assert!(
                !self.completed.contains(&(node.clone(), step)),
                "{node}: completed {step:?} repeated"
            );
            assert!(
                !self.converged_untouched.contains(node),
                "{node}: converged node disrupted by {step:?}"
            );
        }
    }

    /// When it is issued, a precheck may leave out only workers the rollout itself has in flight past their
    /// own precheck: never a control-plane node, never the node itself, never a node that
    /// is pending or finished.
    fn check_expected_down(&self, action: &Action) {
        let Action::Node {
            node,
            request: NodeRequest::CheckGate { expected_down, .. },
            ..
        } = action
        else {
            return;
        };
        let status = self.rollout.status();
        for excused in expected_down {
            let state = status.iter().find(|s| &s.node == excused).unwrap();
            assert!(
                excused != node
                    && state.role == NodeRole::Worker
                    && state.phase.is_active()
                    && state.phase != Phase::Precheck,
                "{node}'s precheck excused {excused} ({:?}, {:?})",
                state.role,
                state.phase
            );
        }
    }

    fn check_state(&self) {
        let status = self.rollout.status();
        let active: Vec<_> = status.iter().filter(|s| s.phase.is_active()).collect();
        let control_active = active
            .iter()
            .filter(|s| s.role == NodeRole::ControlPlane)
            .count();
        if control_active > 0 {
            assert_eq!(
                active.len(),
                1,
                "a control-plane node is active together with others: {active:?}"
            );
        }
        assert!(
            active.len() <= self.max_unavailable,
            "too many active nodes: {active:?}"
        );
        let workers_active = active.iter().any(|s| s.role == NodeRole::Worker);
        let control_unfinished = status
            .iter()
            .any(|s| s.role == NodeRole::ControlPlane && !s.phase.is_terminal());
        assert!(
            !(workers_active && control_unfinished),
            "a worker runs before the control plane finished"
        );
    }

    /// Performs an action on the world, checking that no node is rebooted twice by the same
    /// direction of the rollout (a reboot whose answer was lost must be awaited, not repeated;
    /// on Talos before 1.13 an install reboots the node by itself, so it counts as a reboot).
    fn perform(&mut self, action: &Action) -> Observation {
        let before = self.world.effective.len();
        let in_rollback = action
            .node()
            .is_some_and(|node| matches!(self.phase_of(node), Phase::Rollback(_)));
        let observation = self.world.perform(action);
        for (node, request) in &self.world.effective[before..] {
            let installs = matches!(
                request,
                NodeRequest::Install { .. }
                    | NodeRequest::BootPrevious {
                        method: RollbackMethod::Reinstall { .. }
                    }
            );
            let reboots = matches!(
                request,
                NodeRequest::Reboot
                    | NodeRequest::BootPrevious {
                        method: RollbackMethod::RollbackRpc
                    }
            ) || (installs && self.world.installs_reboot(node));
            if reboots {
                let count = self.reboots.entry((node.clone(), in_rollback)).or_default();
                *count += 1;
                assert_eq!(*count, 1, "{node} rebooted twice (rollback: {in_rollback})");
            }
        }
        observation
    }

    /// One scheduling round; `pick` chooses which pending action completes, `dt` how long it took.
    fn poll_actions(&mut self) {
        while let Some(action) = self.rollout.poll_action(self.now) {
            self.drain();
            self.check_action(&action);
            self.check_expected_down(&action);
            self.pending.push(action);
        }
        self.drain();
    }

    pub fn step(&mut self, pick: usize, dt: u64) -> bool {
        self.poll_actions();
        self.check_state();
        if self.rollout.is_finished() {
            return false;
        }
        if self.pending.is_empty() {
            let Some(wake) = self.rollout.poll_timeout() else {
                panic!(
                    "machine is stuck: nothing pending, no timeout, not finished: {:?} last events {:?}",
                    self.rollout.status(),
                    self.events.iter().rev().take(8).collect::<Vec<_>>()
                );
            };
            self.now = self.now.max(wake);
            return true;
        }
        let action = self.pending.remove(pick % self.pending.len());
        let observation = self.perform(&action);
        self.now += Duration::from_secs(dt);
        if let Observation::Node {
            node,
            step,
            result: Ok(_),
        } = &observation
        {
            let in_rollback = matches!(self.phase_of(node), Phase::Rollback(_));
            if step.is_disruptive() && !in_rollback {
                self.completed.insert((node.clone(), *step));
            }
            if *step == Step::Uncordon {
                // Uncordoned (after a failed drain): a retry cordons the node again.
                self.completed.remove(&(node.clone(), Step::Cordon));
            }
            if *step == Step::ExtensionAction {
                *self.post_verify_passed.entry(node.clone()).or_default() += 1;
            }
        }
        self.journal_before_handle = self.journal.len();
        self.rollout.handle(observation, self.now);
        self.handled += 1;
        self.drain();
        self.check_state();
        true
    }

    /// Runs to the end (panics if it does not finish within a generous number of steps).
    pub fn run(&mut self, picks: &[(usize, u64)]) {
        for round in 0..50_000 {
            let (pick, dt) = if picks.is_empty() {
                (0, 1)
            } else {
                picks[round % picks.len()]
            };
            if !self.step(pick, dt) {
                return;
            }
        }
        panic!("rollout did not finish: {:?}", self.rollout.status());
    }

    pub fn phases(&self) -> BTreeMap<String, Phase> {
        self.rollout
            .status()
            .into_iter()
            .map(|s| (s.node, s.phase))
            .collect()
    }
}
