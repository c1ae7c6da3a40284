//! [`Rollout`]: the sans-IO state machine. No async, no I/O; time is passed in.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::node_index::NodeIndex;
use super::node_state::{NodeState, NodeStatus};
use super::{
    Action, JournalEntry, NodeFailure, Observation, Outcome, Phase, RolloutEvent, Step, Summary,
};
use crate::PortError;
use crate::gate::GateVerdict;
use crate::plan::{Plan, PlanSettings, ResolvedSchematic};
use crate::spec::PhaseTimeouts;

/// Options the driver decides (not part of the plan).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MachineOptions {
    /// Cordon/drain phases run (requires a Kubernetes port and `drain` in the spec).
    pub drain: bool,
}

#[derive(Debug, Clone)]
struct SchematicState {
    schematic: ResolvedSchematic,
    ensured: bool,
    in_flight: bool,
    wake_at: Option<Instant>,
    deadline: Option<Instant>,
}

/// The rollout state machine.
///
/// The driver loops: perform every action from [`poll_action`](Self::poll_action), feed each
/// result to [`handle`](Self::handle), persist [`poll_journal`](Self::poll_journal) entries
/// (before performing the next action), forward [`poll_event`](Self::poll_event)s, and sleep
/// until [`poll_timeout`](Self::poll_timeout) when there is nothing to do.
///
/// # Usage
/// ```
/// # use std::time::Instant;
/// # use rollout_core::machine::{Action, MachineOptions, Rollout};
/// # fn drive(plan: rollout_core::Plan) {
/// let now = Instant::now();
/// let mut rollout = Rollout::new(plan, MachineOptions::default(), now);
/// while let Some(action) = rollout.poll_action(now) {
///     // perform `action` through the ports, then: rollout.handle(observation, Instant::now());
///     # let _ = action;
///     # break;
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Rollout {
    pub(crate) nodes: Vec<NodeState>,
    /// Derived from the nodes' phases; rebuilt whenever phases are set directly.
    pub(crate) index: NodeIndex,
    pub(crate) timeouts: PhaseTimeouts,
    /// The plan's settings (the gates of each stage are built from them).
    pub(crate) settings: PlanSettings,
    pub(crate) soak: Duration,
    pub(crate) rollback_on_failure: bool,
    pub(crate) options: MachineOptions,
    max_unavailable: usize,
    schematics: Vec<SchematicState>,
    halted_by: Option<String>,
    halt_reason: Option<String>,
    events: VecDeque<RolloutEvent>,
    journal: VecDeque<JournalEntry>,
    pub(crate) finished: bool,
}

impl Rollout {
    /// Starts a rollout of `plan`; skipped nodes are Done at once.
    pub fn new(plan: Plan, options: MachineOptions, now: Instant) -> Self {
        let settings = &plan.settings;
        let mut rollout = Rollout {
            timeouts: settings.timeouts.clone(),
            settings: settings.clone(),
            soak: settings.soak,
            rollback_on_failure: settings.failure_policy == crate::spec::FailurePolicy::Rollback,
            options: MachineOptions {
                drain: options.drain && settings.drain,
            },
            max_unavailable: settings.max_unavailable,
            schematics: plan
                .schematics
                .iter()
                .map(|schematic| SchematicState {
                    schematic: schematic.clone(),
                    ensured: false,
                    in_flight: false,
                    wake_at: None,
                    deadline: None,
                })
                .collect(),
            nodes: plan.nodes.iter().cloned().map(NodeState::new).collect(),
            index: NodeIndex::default(),
            halted_by: None,
            halt_reason: None,
            events: VecDeque::new(),
            journal: VecDeque::new(),
            finished: false,
        };
        rollout.index = NodeIndex::build(&rollout.nodes);
        for index in 0..rollout.nodes.len() {
            if let crate::plan::NodeAction::Skip { reason } = &rollout.nodes[index].plan.action {
                let message = format!("skipped: {reason}");
                rollout.warn(Some(index), message);
                rollout.enter(index, Phase::Done, now);
            }
        }
        rollout
    }

    /// The next action to perform, or `None` when nothing is due before [`poll_timeout`](Self::poll_timeout).
    pub fn poll_action(&mut self, now: Instant) -> Option<Action> {
        if self.finished {
            return None;
        }
        self.expire_deadlines(now);
        if let Some(action) = self.next_schematic_action(now) {
            return Some(action);
        }
        let action = self.next_node_action(now).or_else(|| {
            let ready = self.schematics.iter().all(|schematic| schematic.ensured);
            let halted = self.is_halted() || !ready;
            let index = super::scheduler::next_to_start(
                &self.nodes,
                &mut self.index,
                self.max_unavailable,
                halted,
            )?;
            self.enter(index, Phase::Precheck, now);
            self.next_node_action(now)
        });
        self.maybe_finish(now);
        action
    }

    /// Feeds back the result of an action.
    pub fn handle(&mut self, observation: Observation, now: Instant) {
        match observation {
            Observation::SchematicEnsured {
                expected_id,
                result,
            } => self.on_schematic(&expected_id, result, now),
            Observation::Node { node, step, result } => {
                let Some(index) = self.index.position(&node) else {
                    self.warn(None, format!("observation for unknown node {node} ignored"));
                    return;
                };
                if self.nodes[index].in_flight != Some(step) {
                    self.warn(
                        Some(index),
                        format!("unexpected {step:?} result ignored (not in flight)"),
                    );
                    return;
                }
                self.nodes[index].in_flight = None;
                match result {
                    Ok(outcome) => self.on_success(index, step, outcome, now),
                    Err(error) => self.on_error(index, step, error, now),
                }
            }
        }
        self.maybe_finish(now);
    }

    /// When the machine next needs [`poll_action`](Self::poll_action) without a new observation.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let nodes = self
            .index
            .active()
            .map(|index| &self.nodes[index])
            .filter(|node| node.in_flight.is_none())
            .flat_map(|node| [node.wake_at, node.deadline]);
        let schematics = self
            .schematics
            .iter()
            .filter(|schematic| !self.is_halted() && !schematic.ensured && !schematic.in_flight)
            .flat_map(|schematic| [schematic.wake_at, schematic.deadline]);
        nodes.chain(schematics).flatten().min()
    }

    /// The next progress event.
    pub fn poll_event(&mut self) -> Option<RolloutEvent> {
        self.events.pop_front()
    }

    /// The next journal entry; the driver persists it before performing the next action.
    pub fn poll_journal(&mut self) -> Option<JournalEntry> {
        self.journal.pop_front()
    }

    /// True once every node is terminal.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Progress of every node, in plan order.
    pub fn status(&self) -> Vec<NodeStatus> {
        self.nodes.iter().map(NodeState::status).collect()
    }

    /// True when no further node will start (a node failed or a rollout-level step failed).
    pub fn is_halted(&self) -> bool {
        self.halted_by.is_some() || self.halt_reason.is_some()
    }

    /// True when some action is being performed by the driver.
    pub fn has_in_flight(&self) -> bool {
        self.nodes.iter().any(|node| node.in_flight.is_some())
            || self.schematics.iter().any(|s| s.in_flight)
    }

    /// Starts rolling back a node the rollout changed (also a Done one), outside any failure,
    /// to the plan's `from` image and this rollout's backup.
    ///
    /// The rollout halts: no other node starts afterwards.
    ///
    /// # Errors
    /// [`crate::Error::UnknownNode`]; [`crate::Error::NothingToRollBack`] when the node was
    /// never changed, is already rolled back, or an action for it is still in flight.
    pub fn roll_back(&mut self, node: &str, now: Instant) -> crate::Result<()> {
        let index = self.rollback_candidate(node, false)?;
        if !self.nodes[index].changed_anything() {
            return Err(crate::Error::NothingToRollBack {
                node: node.to_owned(),
                reason: "the rollout never changed it".to_owned(),
            });
        }
        self.begin_rollback(index, now);
        Ok(())
    }

    /// Starts rolling back a node to what it ran before the project first touched it: its
    /// original machine config is applied and, unless it already runs `original`, the original
    /// installer is installed again (the Talos `Rollback` RPC only when its previous boot entry
    /// is the original), then the original version and schematic are verified. Unlike
    /// [`Rollout::roll_back`] this also takes a node this rollout never changed and one it
    /// rolled back to its `from` already; the caller asks only for nodes that differ from their
    /// originals. The request is journaled before anything is sent.
    ///
    /// The rollout halts: no other node starts afterwards.
    ///
    /// # Errors
    /// [`crate::Error::UnknownNode`]; [`crate::Error::NothingToRollBack`] while the node is
    /// being rolled back or an action for it is still in flight.
    pub fn roll_back_to_original(
        &mut self,
        node: &str,
        original: crate::plan::NodeImage,
        now: Instant,
    ) -> crate::Result<()> {
        let index = self.rollback_candidate(node, true)?;
        self.record(JournalEntry::RollbackToOriginal {
            node: node.to_owned(),
            original: original.clone(),
        });
        self.aim_at_original(index, original);
        self.begin_rollback(index, now);
        Ok(())
    }

    /// The node's index when a rollback may start on it now.
    fn rollback_candidate(&self, node: &str, again: bool) -> crate::Result<usize> {
        let index = self
            .index
            .position(node)
            .ok_or_else(|| crate::Error::UnknownNode {
                node: node.to_owned(),
            })?;
        let state = &self.nodes[index];
        let refuse = |reason: &str| crate::Error::NothingToRollBack {
            node: node.to_owned(),
            reason: reason.to_owned(),
        };
        if state.in_rollback() || (state.phase == Phase::RolledBack && !again) {
            return Err(refuse("it is already rolled back or being rolled back"));
        }
        if state.in_flight.is_some() {
            return Err(refuse("an action for it is still running; wait for it"));
        }
        Ok(index)
    }

    /// Records the operator's rollback as the node's failure and enters the rollback.
    fn begin_rollback(&mut self, index: usize, now: Instant) {
        let state = &self.nodes[index];
        let node = state.plan.node.clone();
        let failure = NodeFailure {
            phase: state.phase,
            reason: "rollback requested by the operator".to_owned(),
            last_verdict: None,
            port_error: None,
        };
        self.nodes[index].failure = Some(failure.clone());
        self.halted_by.get_or_insert_with(|| node.clone());
        self.record(JournalEntry::NodeFailed {
            node,
            failure: Box::new(failure),
        });
        self.finished = false;
        self.enter(index, Phase::Rollback(super::RollbackStep::Inspect), now);
    }

    // ---- plumbing shared by the phase logic ----

    pub(crate) fn enter(&mut self, index: usize, phase: Phase, now: Instant) {
        let timeout = self.phase_timeout(phase);
        let node = &mut self.nodes[index];
        let from = node.phase;
        node.phase = phase;
        self.index.phase_changed(index, node.plan.role, from, phase);
        node.attempts = 0;
        node.inspected = false;
        node.post_verify_step = 0;
        node.seen_down = false;
        node.reboot_unconfirmed = false;
        node.reboot_resend_from = None;
        node.install_unconfirmed = false;
        node.install_send_unknown = false;
        node.last_verdict = None;
        node.wake_at = (phase == Phase::Soak).then(|| now + self.soak);
        node.waiting_for_change = false;
        node.changed_during_check = false;
        node.deadline = (!phase.is_terminal() && phase != Phase::Pending).then(|| now + timeout);
        let name = node.plan.node.clone();
        tracing::debug!(node = %name, %from, to = %phase, "phase changed");
        self.journal.push_back(JournalEntry::PhaseEntered {
            node: name.clone(),
            phase,
        });
        self.events.push_back(RolloutEvent::PhaseChanged {
            node: name,
            from,
            to: phase,
        });
    }

    fn phase_timeout(&self, phase: Phase) -> Duration {
        use super::RollbackStep as R;
        let t = &self.timeouts;
        match phase {
            Phase::Precheck => t.precheck,
            Phase::Install | Phase::Rollback(R::BootPrevious) => t.install,
            Phase::Drain => t.drain,
            Phase::AwaitReboot | Phase::Rollback(R::AwaitReboot) => t.await_reboot,
            Phase::Verify | Phase::Rollback(R::Verify) => t.verify,
            Phase::PostVerify => t.post_verify,
            Phase::Soak => self.soak + t.verify,
            _ => t.step,
        }
    }

    pub(crate) fn warn(&mut self, index: Option<usize>, message: String) {
        let node = index.map(|index| self.nodes[index].plan.node.clone());
        self.events
            .push_back(RolloutEvent::Warning { node, message });
    }

    pub(crate) fn record(&mut self, entry: JournalEntry) {
        self.journal.push_back(entry);
    }

    pub(crate) fn fail(
        &mut self,
        index: usize,
        reason: String,
        port_error: Option<PortError>,
        now: Instant,
    ) {
        let node = &self.nodes[index];
        // The uncordon after a failed drain failed too: keep the drain's failure, add this.
        let after_drain = (node.phase == Phase::Uncordon)
            .then(|| node.failure.clone())
            .flatten();
        let failure = match after_drain {
            Some(drain) => NodeFailure {
                reason: format!(
                    "{}; the uncordon that followed failed too ({reason}): the node stays \
                     cordoned, run `kubectl uncordon {}`",
                    drain.reason, node.plan.nodename
                ),
                port_error: port_error.or(drain.port_error),
                ..drain
            },
            None => NodeFailure {
                phase: node.phase,
                reason,
                last_verdict: node.last_verdict.clone(),
                port_error,
            },
        };
        let name = node.plan.node.clone();
        let in_rollback = node.in_rollback();
        let roll_back = self.rollback_on_failure
            && !in_rollback
            && node.failure.is_none()
            && node.changed_anything();
        tracing::warn!(node = %name, reason = %failure.reason, "node failed");
        self.halted_by.get_or_insert_with(|| name.clone());
        self.nodes[index].failure = Some(failure.clone());
        self.record(JournalEntry::NodeFailed {
            node: name.clone(),
            failure: Box::new(failure.clone()),
        });
        self.events.push_back(RolloutEvent::NodeFailed {
            node: name,
            failure,
        });
        let next = self.after_failure(index, roll_back);
        self.enter(index, next, now);
    }

    /// Where a failed node goes: a node whose drain failed is uncordoned (when this rollout
    /// cordoned it) and then halts, before any reboot and without a rollback, since nothing
    /// was rebooted; any other node this rollout cordoned stays cordoned, and says so.
    fn after_failure(&mut self, index: usize, roll_back: bool) -> Phase {
        let cordoned = self.cordoned_by_us(index);
        let node = &self.nodes[index];
        let nodename = node.plan.nodename.clone();
        if node.phase == Phase::Drain {
            if cordoned {
                self.warn(
                    Some(index),
                    format!(
                        "the drain failed: {nodename} is uncordoned and the rollout halts; \
                         nothing was rebooted, but the new image is installed and boots at the \
                         node's next reboot (resume to retry, or roll back)"
                    ),
                );
                return Phase::Uncordon;
            }
            return Phase::Halted;
        }
        if cordoned && node.phase != Phase::Uncordon {
            self.warn(
                Some(index),
                format!(
                    "{nodename} stays cordoned (this rollout cordoned it): once it is healthy, \
                     resume the rollout or run `kubectl uncordon {nodename}`"
                ),
            );
        }
        if roll_back {
            Phase::Rollback(super::RollbackStep::Inspect)
        } else {
            Phase::Halted
        }
    }

    fn expire_deadlines(&mut self, now: Instant) {
        let active: Vec<usize> = self.index.active().collect();
        for index in active {
            let node = &self.nodes[index];
            let expired = node.phase.is_active()
                && node.in_flight.is_none()
                && node.deadline.is_some_and(|d| now >= d);
            if expired {
                let detail = node
                    .last_verdict
                    .as_ref()
                    .filter(|verdict| !verdict.passed)
                    .map(|verdict| format!("; failing: {}", verdict.failing()))
                    .unwrap_or_default();
                let unconfirmed = node.timeout_hint();
                let reason = format!(
                    "timed out in phase {} after {} attempt(s){detail}{unconfirmed}",
                    node.phase,
                    node.attempts + 1
                );
                self.fail(index, reason, None, now);
            }
        }
        for schematic in &mut self.schematics {
            if !schematic.ensured
                && !schematic.in_flight
                && schematic.deadline.is_some_and(|d| now >= d)
            {
                self.halt_reason.get_or_insert_with(|| {
                    format!(
                        "schematic {} could not be registered in time",
                        schematic.schematic.id
                    )
                });
            }
        }
    }

    fn next_schematic_action(&mut self, now: Instant) -> Option<Action> {
        if self.is_halted() {
            return None;
        }
        let step = self.timeouts.step;
        let schematic = self
            .schematics
            .iter_mut()
            .find(|s| !s.ensured && !s.in_flight && s.wake_at.is_none_or(|wake| wake <= now))?;
        schematic.in_flight = true;
        schematic.deadline.get_or_insert(now + step * 3);
        Some(Action::EnsureSchematic {
            schematic: schematic.schematic.clone(),
            timeout: step,
        })
    }

    fn on_schematic(&mut self, expected_id: &str, result: Result<String, PortError>, now: Instant) {
        let interval = self.timeouts.check_interval;
        let Some(schematic) = self
            .schematics
            .iter_mut()
            .find(|s| s.schematic.id == expected_id && s.in_flight)
        else {
            self.warn(
                None,
                format!("unexpected schematic result for {expected_id} ignored"),
            );
            return;
        };
        schematic.in_flight = false;
        match result {
            Ok(id) if id == expected_id => schematic.ensured = true,
            Ok(id) => {
                self.halt_reason = Some(format!(
                    "the Image Factory returned schematic ID {id}, but the plan computed {expected_id}; the offline ID \
                     is wrong or the factory differs; nothing was changed"
                ));
            }
            Err(error) if error.is_retryable() => schematic.wake_at = Some(now + interval),
            Err(error) => {
                self.halt_reason = Some(format!(
                    "registering schematic {expected_id} failed: {error}"
                ))
            }
        }
        if let Some(reason) = self.halt_reason.clone() {
            self.warn(None, reason);
        }
    }

    fn next_node_action(&mut self, now: Instant) -> Option<Action> {
        let active: Vec<usize> = self.index.active().collect();
        for index in active {
            let node = &self.nodes[index];
            let due = node.phase.is_active()
                && node.in_flight.is_none()
                && node.wake_at.is_none_or(|wake| wake <= now);
            if !due {
                continue;
            }
            let Some(request) = self.request_for(index) else {
                continue;
            };
            let step = request.step();
            let phase_timeout = self.phase_timeout(self.nodes[index].phase);
            let node = &mut self.nodes[index];
            node.in_flight = Some(step);
            node.wake_at = None;
            node.waiting_for_change = false;
            // A call gets the rest of its phase, but never less than one step's time: the
            // machine judges lateness itself when the result arrives.
            let remaining = node
                .deadline
                .map_or(phase_timeout, |d| d.saturating_duration_since(now));
            // An install gets its own phase's time (the spec's install timeout), not the step
            // time: cutting it short would lose an answer that decides what happens next.
            let floor = if matches!(step, Step::Install | Step::BootPrevious) {
                Duration::from_secs(1)
            } else {
                self.timeouts.step
            };
            let timeout = remaining.max(floor);
            let name = node.plan.node.clone();
            if step.is_disruptive() {
                if node.in_rollback() {
                    node.rollback_started.insert(step);
                } else {
                    node.started.insert(step);
                }
                self.record(JournalEntry::StepStarted {
                    node: name.clone(),
                    step,
                });
            }
            return Some(Action::Node {
                node: name,
                request,
                timeout,
            });
        }
        None
    }

    fn on_success(&mut self, index: usize, step: Step, outcome: Outcome, now: Instant) {
        match outcome {
            Outcome::GateChecked(verdict) => self.on_gate(index, step, verdict, now),
            Outcome::Inspected(live) => self.on_inspected(index, live, now),
            Outcome::BootProbed(probe) => self.on_boot_probe(index, probe, now),
            Outcome::Done { reboot_started } => {
                let node = &mut self.nodes[index];
                let name = node.plan.node.clone();
                if node.in_rollback() {
                    node.rollback_completed.insert(step);
                } else {
                    super::node_state::complete(&mut node.completed, step);
                }
                self.record(JournalEntry::StepCompleted { node: name, step });
                self.after_step(index, step, reboot_started, now);
            }
        }
    }

    fn on_gate(&mut self, index: usize, step: Step, verdict: GateVerdict, now: Instant) {
        let Step::CheckGate(stage) = step else { return };
        let node = &mut self.nodes[index];
        node.attempts += 1;
        let passed = verdict.passed;
        node.last_verdict = Some(verdict.clone());
        let event = RolloutEvent::GateProgress {
            node: node.plan.node.clone(),
            stage,
            attempt: node.attempts,
            verdict,
        };
        self.events.push_back(event);
        if passed {
            self.after_gate(index, stage, now);
        } else {
            self.wait_for_change(
                index,
                step,
                self.nodes[index].last_verdict.clone().as_ref(),
                now,
            );
        }
    }

    fn on_error(&mut self, index: usize, step: Step, error: PortError, now: Instant) {
        // A busy node is already carrying out an earlier request of ours (sent by a process
        // that stopped before its answer): like a lost answer, it is awaited, never a failure.
        let unanswered = error.is_retryable() || error.is_busy();
        let what = if error.is_busy() {
            "found the node busy with it already"
        } else {
            "got no answer"
        };
        let await_phase = unanswered
            .then(|| self.await_instead_of_retry(index, step))
            .flatten();
        if let Some(await_phase) = await_phase {
            let message = format!(
                "{step:?} {what} ({error}); it may have been carried out, so the node is \
                 watched for a new boot ID instead of being asked again"
            );
            self.warn(Some(index), message);
            let sent_from = self.nodes[index].phase;
            self.enter(index, await_phase, now);
            let node = &mut self.nodes[index];
            node.reboot_unconfirmed = true;
            // Asked again once the node shows it never started (a Rollback RPC becomes a
            // re-install then); a busy node is carrying it out.
            node.reboot_resend_from = (!error.is_busy()).then_some(sent_from);
            return;
        }
        if unanswered && self.is_install_request(index, step) {
            let message = format!(
                "{step:?} {what} ({error}); it may have been carried out (the legacy \
                 upgrade reboots the node by itself), so the node's boot ID is checked before \
                 the image is installed again"
            );
            self.warn(Some(index), message);
            let node = &mut self.nodes[index];
            node.install_unconfirmed = true;
            // A lost answer leaves open whether the request ever reached the node: an idle
            // node on the same boot never started it and gets it again (one that did start
            // it answers busy, which is awaited). A busy answer says it is under way.
            node.install_send_unknown = !error.is_busy();
            self.retry_later(index, now);
            return;
        }
        let past_deadline = self.nodes[index].deadline.is_some_and(|d| now >= d);
        if error.is_retryable() && !past_deadline {
            tracing::debug!(node = %self.nodes[index].name(), ?step, %error, "retryable failure");
            self.retry_later(index, now);
            if step == Step::ProbeBoot {
                self.nodes[index].seen_down = true;
            }
            return;
        }
        let failing = self.nodes[index]
            .last_verdict
            .as_ref()
            .filter(|verdict| !verdict.passed);
        let reason = match (step, failing) {
            (Step::CheckGate(_), Some(verdict)) => format!(
                "timed out in phase {}; failing: {}; the last check could not run: {error}",
                self.nodes[index].phase,
                verdict.failing()
            ),
            _ => format!("{step:?} failed: {error}"),
        };
        self.fail(index, reason, Some(error), now);
    }

    pub(crate) fn clear_halt(&mut self) {
        self.halted_by = None;
        self.halt_reason = None;
    }

    pub(crate) fn halt_rollout(&mut self, index: usize) {
        let name = self.nodes[index].plan.node.clone();
        self.halted_by.get_or_insert(name);
    }

    fn maybe_finish(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        let any_active = self.index.active_count() > 0;
        if self.is_halted() && !any_active && !self.has_in_flight() {
            for index in 0..self.nodes.len() {
                if self.nodes[index].phase == Phase::Pending {
                    self.enter(index, Phase::NotStarted, now);
                }
            }
        }
        if self.index.all_terminal(&self.nodes) && !self.has_in_flight() {
            self.finished = true;
            let summary = Summary {
                nodes: self
                    .nodes
                    .iter()
                    .map(|node| (node.plan.node.clone(), node.phase))
                    .collect(),
                halted_by: self.halted_by.clone().or_else(|| self.halt_reason.clone()),
            };
            self.record(JournalEntry::Finished {
                summary: summary.clone(),
            });
            self.events.push_back(RolloutEvent::Finished(summary));
        }
    }
}
