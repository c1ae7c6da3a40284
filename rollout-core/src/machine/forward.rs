//! The forward path: which request each phase issues and where a node goes next.

use std::time::Instant;

use super::{BootProbe, JournalEntry, LiveNode, NodeRequest, Phase, RollbackStep, Rollout, Step};
use crate::extension::PostVerifyStep;
use crate::gate::GateStage;

impl Rollout {
    /// The request the node's current phase needs next (`None`: waiting).
    pub(crate) fn request_for(&self, index: usize) -> Option<NodeRequest> {
        let node = &self.nodes[index];
        let plan = &node.plan;
        let gate = |stage| {
            Some(NodeRequest::CheckGate {
                stage,
                expected_down: Vec::new(),
            })
        };
        if node.install_unconfirmed {
            return Some(NodeRequest::ProbeBoot);
        }
        match node.phase {
            Phase::Precheck if !node.inspected => Some(NodeRequest::Inspect),
            Phase::Precheck => Some(NodeRequest::CheckGate {
                stage: GateStage::Precheck,
                expected_down: super::scheduler::accounted_for(&self.nodes, &self.index, index),
            }),
            Phase::Backup => Some(NodeRequest::BackupConfig),
            Phase::ApplyConfig => Some(NodeRequest::ApplyConfig {
                install_image: plan
                    .reboots()
                    .then(|| plan.to.install_image.clone())
                    .flatten(),
                esc_name: plan.extension.esc.as_ref().map(|esc| esc.name.clone()),
            }),
            Phase::Cordon => Some(NodeRequest::Cordon),
            Phase::Drain => Some(NodeRequest::Drain),
            Phase::Install => plan
                .to
                .install_image
                .clone()
                .map(|image| NodeRequest::Install { image }),
            Phase::Reboot | Phase::Rollback(RollbackStep::Reboot) => Some(NodeRequest::Reboot),
            Phase::AwaitReboot | Phase::Rollback(RollbackStep::AwaitReboot) => {
                Some(NodeRequest::ProbeBoot)
            }
            Phase::Verify => gate(GateStage::Verify),
            Phase::PostVerify => self.post_verify_request(index),
            Phase::Uncordon => Some(NodeRequest::Uncordon),
            Phase::Soak => gate(GateStage::Soak),
            Phase::Rollback(RollbackStep::Inspect) => Some(NodeRequest::Inspect),
            Phase::Rollback(RollbackStep::RestoreConfig) => Some(NodeRequest::RestoreConfig),
            Phase::Rollback(RollbackStep::BootPrevious) => self
                .rollback_method(index)
                .map(|method| NodeRequest::BootPrevious { method }),
            Phase::Rollback(RollbackStep::Verify) => gate(GateStage::RollbackVerify),
            Phase::Pending
            | Phase::Done
            | Phase::Halted
            | Phase::NotStarted
            | Phase::RolledBack => None,
        }
    }

    /// The request of the node's current post-verify step (`None` once every step is done).
    fn post_verify_request(&self, index: usize) -> Option<NodeRequest> {
        let node = &self.nodes[index];
        let position = node.post_verify_step;
        match node.plan.extension.post_verify.get(position)? {
            PostVerifyStep::Check { .. } => Some(NodeRequest::CheckGate {
                stage: GateStage::PostVerify(u8::try_from(position).unwrap_or(u8::MAX)),
                expected_down: Vec::new(),
            }),
            PostVerifyStep::Act { action } => Some(NodeRequest::ExtensionAction {
                action: action.clone(),
            }),
        }
    }

    /// Moves past the current post-verify step; after the last one the node leaves the phase.
    fn advance_post_verify(&mut self, index: usize, now: Instant) {
        let node = &mut self.nodes[index];
        node.post_verify_step += 1;
        if node.post_verify_step >= node.plan.extension.post_verify.len() {
            let next = self.next_after(index, Phase::PostVerify);
            self.enter(index, next, now);
        }
    }

    /// Whether the rollout cordons and drains this node itself, between the install and the
    /// reboot, as talosctl does: only with a Kubernetes port (see [`NodePlan::drained`]).
    ///
    /// [`NodePlan::drained`]: crate::plan::NodePlan::drained
    pub(crate) fn drains(&self, index: usize) -> bool {
        self.nodes[index].plan.drained(self.options.drain)
    }

    /// Whether this rollout cordoned the node and has not uncordoned it since.
    pub(crate) fn cordoned_by_us(&self, index: usize) -> bool {
        let node = &self.nodes[index];
        node.completed.contains(&Step::Cordon) && !node.completed.contains(&Step::Uncordon)
    }

    /// Where a node goes after finishing `phase` on the forward path.
    pub(crate) fn next_after(&self, index: usize, phase: Phase) -> Phase {
        let node = &self.nodes[index];
        let reboots = node.plan.reboots();
        let after_checks = if self.cordoned_by_us(index) {
            Phase::Uncordon
        } else {
            Phase::Soak
        };
        match phase {
            Phase::Precheck => Phase::Backup,
            Phase::Backup => Phase::ApplyConfig,
            Phase::ApplyConfig if reboots => Phase::Install,
            Phase::ApplyConfig => Phase::Verify,
            Phase::Install if self.drains(index) => Phase::Cordon,
            Phase::Install => Phase::Reboot,
            Phase::Cordon => Phase::Drain,
            Phase::Drain => Phase::Reboot,
            // The uncordon after a failed drain ends the node's part: it halts.
            Phase::Uncordon if node.failure.is_some() => Phase::Halted,
            Phase::Reboot => Phase::AwaitReboot,
            Phase::AwaitReboot => Phase::Verify,
            Phase::Verify if !node.plan.extension.post_verify.is_empty() => Phase::PostVerify,
            Phase::Verify | Phase::PostVerify => after_checks,
            Phase::Uncordon => Phase::Soak,
            _ => Phase::Done,
        }
    }

    pub(crate) fn after_step(
        &mut self,
        index: usize,
        step: Step,
        reboot_started: bool,
        now: Instant,
    ) {
        let phase = self.nodes[index].phase;
        let next = match (phase, step) {
            (Phase::Install, Step::Install) if reboot_started => Phase::AwaitReboot,
            (Phase::PostVerify, Step::ExtensionAction) => {
                return self.advance_post_verify(index, now);
            }
            (Phase::Rollback(_), _) => {
                return self.after_rollback_step(index, step, reboot_started, now);
            }
            (phase, _) => self.next_after(index, phase),
        };
        self.enter(index, next, now);
    }

    pub(crate) fn after_gate(&mut self, index: usize, stage: GateStage, now: Instant) {
        let phase = self.nodes[index].phase;
        let next = match stage {
            GateStage::PostVerify(_) => return self.advance_post_verify(index, now),
            GateStage::RollbackVerify => {
                self.halt_rollout(index);
                Phase::RolledBack
            }
            _ => self.next_after(index, phase),
        };
        self.enter(index, next, now);
    }

    pub(crate) fn on_inspected(&mut self, index: usize, live: LiveNode, now: Instant) {
        if self.nodes[index].in_rollback() {
            return self.on_rollback_inspected(index, live, now);
        }
        if self.nodes[index].is_converged(&live) {
            self.warn(
                Some(index),
                "already runs the target version, schematic and config; nothing to do".into(),
            );
            return self.enter(index, Phase::Done, now);
        }
        let node = &mut self.nodes[index];
        node.inspected = true;
        node.boot_before.clone_from(&live.boot_id);
        if let Some(boot_id) = live.boot_id {
            let name = node.plan.node.clone();
            self.record(JournalEntry::BootRecorded {
                node: name,
                boot_id,
                rollback: false,
            });
        }
    }

    /// For a step that reboots the node, the phase that waits for the reboot instead of
    /// repeating the request: a request whose answer was lost may have been carried out, and
    /// asking again would reboot the node twice (or, for the Rollback RPC, flip it back to the
    /// new image).
    pub(crate) fn await_instead_of_retry(&self, index: usize, step: Step) -> Option<Phase> {
        let rollback_rpc = || {
            matches!(
                self.rollback_method(index),
                Some(super::RollbackMethod::RollbackRpc)
            )
        };
        match (self.nodes[index].phase, step) {
            (Phase::Reboot, Step::Reboot) => Some(Phase::AwaitReboot),
            (Phase::Rollback(RollbackStep::Reboot), Step::Reboot) => {
                Some(Phase::Rollback(RollbackStep::AwaitReboot))
            }
            (Phase::Rollback(RollbackStep::BootPrevious), Step::BootPrevious) if rollback_rpc() => {
                Some(Phase::Rollback(RollbackStep::AwaitReboot))
            }
            _ => None,
        }
    }

    /// Whether `step` in the node's phase installs an image (Install, or a rollback's
    /// re-install), which on the legacy path reboots the node by itself.
    pub(crate) fn is_install_request(&self, index: usize, step: Step) -> bool {
        match (self.nodes[index].phase, step) {
            (Phase::Install, Step::Install) => true,
            (Phase::Rollback(RollbackStep::BootPrevious), Step::BootPrevious) => matches!(
                self.rollback_method(index),
                Some(super::RollbackMethod::Reinstall { .. })
            ),
            _ => false,
        }
    }

    /// Whether an install on this node may reboot it by itself: every version before the
    /// 1.13 lifecycle API takes the legacy path. (A newer node takes the lifecycle path,
    /// whose installer never reboots, unless its image service is missing.)
    pub(crate) fn install_may_reboot(&self, index: usize) -> bool {
        !talos_client::version::supports_lifecycle_api(&self.nodes[index].plan.from.version)
    }

    /// A probe after an install whose answer was lost: a new boot ID means the install was
    /// carried out and the node rebooted into it by itself; an unchanged boot on a reachable
    /// node allows a resend only where the installer never reboots (lifecycle path).
    fn on_install_probe(&mut self, index: usize, probe: BootProbe, now: Instant) {
        let may_reboot = self.install_may_reboot(index);
        let node = &mut self.nodes[index];
        let in_rollback = node.in_rollback();
        let reference = if in_rollback {
            &node.rollback_boot_before
        } else {
            &node.boot_before
        };
        let rebooted = match &probe {
            BootProbe::Down { .. } => {
                node.seen_down = true;
                false
            }
            BootProbe::Up { boot_id, .. } => match reference {
                Some(before) => before != boot_id,
                None => node.seen_down,
            },
        };
        if rebooted {
            let (step, next) = if in_rollback {
                node.rollback_completed.insert(Step::BootPrevious);
                (
                    Step::BootPrevious,
                    Phase::Rollback(RollbackStep::AwaitReboot),
                )
            } else {
                node.completed.insert(Step::Install);
                (Step::Install, Phase::AwaitReboot)
            };
            let name = node.plan.node.clone();
            self.warn(
                Some(index),
                "the install whose answer was lost was carried out: the node rebooted by itself"
                    .into(),
            );
            self.record(JournalEntry::StepCompleted { node: name, step });
            return self.enter(index, next, now);
        }
        // Same boot, reachable, never seen down: safe to send again where the installer never
        // reboots; on the legacy path only when the request may never have been sent and the
        // node is running and ready (not upgrading): a node already running it answers busy.
        let idle = matches!(probe, BootProbe::Up { ready: true, .. });
        let resend = matches!(probe, BootProbe::Up { .. })
            && !node.seen_down
            && (!may_reboot || (node.install_send_unknown && idle));
        if resend {
            node.install_unconfirmed = false;
            node.install_send_unknown = false;
            return;
        }
        self.probe_again(index, now);
    }

    pub(crate) fn on_boot_probe(&mut self, index: usize, probe: BootProbe, now: Instant) {
        if self.nodes[index].install_unconfirmed {
            return self.on_install_probe(index, probe, now);
        }
        let node = &mut self.nodes[index];
        let reference = if node.in_rollback() {
            &node.rollback_boot_before
        } else {
            &node.boot_before
        };
        let back = match &probe {
            BootProbe::Down { .. } => {
                node.seen_down = true;
                false
            }
            BootProbe::Up { boot_id, ready } => {
                let changed = match reference {
                    Some(before) => before != boot_id,
                    None => node.seen_down,
                };
                *ready && changed
            }
        };
        let never_started = matches!(
            &probe,
            BootProbe::Up { boot_id, ready: true } if reference.as_ref() == Some(boot_id)
        );
        if let Some(phase) = node
            .reboot_resend_from
            .filter(|_| never_started && !node.seen_down)
        {
            let message = if phase == Phase::Rollback(RollbackStep::BootPrevious) {
                // The RPC may have switched the boot entry already; re-installing the target
                // image ends at it either way, sending the RPC again might switch back.
                node.rollback_rpc_replaced = true;
                let name = node.plan.node.clone();
                self.record(JournalEntry::RollbackRpcReplaced { node: name });
                "the Rollback request never took effect (the node is running and ready on the \
                 same boot): re-installing the target image instead of asking again"
            } else {
                "the reboot request never reached the node (it is running and ready on the \
                 same boot): asking again"
            };
            self.warn(Some(index), message.into());
            return self.enter(index, phase, now);
        }
        if !back {
            self.probe_again(index, now);
            return;
        }
        let next = if node.in_rollback() {
            Phase::Rollback(RollbackStep::Verify)
        } else {
            Phase::Verify
        };
        self.enter(index, next, now);
    }
}
