//! The state the machine keeps per node.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{LiveNode, NodeFailure, Phase, Step};
use crate::facts::NodeRole;
use crate::gate::GateVerdict;
use crate::plan::{NodeImage, NodePlan};

/// Per-node state inside [`super::Rollout`].
#[derive(Debug, Clone)]
pub(crate) struct NodeState {
    pub(crate) plan: NodePlan,
    pub(crate) phase: Phase,
    /// When the current phase fails if not finished.
    pub(crate) deadline: Option<Instant>,
    /// Earliest time the next action of this phase may be issued.
    pub(crate) wake_at: Option<Instant>,
    /// `wake_at` is a wait between checks that a change of the node cuts short.
    pub(crate) waiting_for_change: bool,
    /// The node changed while a check was in flight: a failed check runs again at once.
    pub(crate) changed_during_check: bool,
    /// The driver's change feed for this node is connected (kept across phases).
    pub(crate) feed_connected: bool,
    /// The step the driver is performing for this node.
    pub(crate) in_flight: Option<Step>,
    /// Checks or tries in the current phase.
    pub(crate) attempts: u32,
    /// Precheck already read the live state.
    pub(crate) inspected: bool,
    /// PostVerify: index of the profile's current post-verify step.
    pub(crate) post_verify_step: usize,
    /// AwaitReboot: the node was seen down (used when the boot ID is unreadable).
    pub(crate) seen_down: bool,
    /// AwaitReboot: entered because the reboot request got no answer (it may not have happened).
    pub(crate) reboot_unconfirmed: bool,
    /// With `reboot_unconfirmed`: the phase whose reboot request got no answer, when that
    /// request may never have reached the node. Once the node answers running and ready on
    /// the boot from before, it never started rebooting, and the node goes back to that
    /// phase to be asked again (a node already rebooting answers busy or goes down). For
    /// the Rollback RPC, which switches the boot entry before it reboots, that phase
    /// re-installs the target image instead of sending the RPC again.
    pub(crate) reboot_resend_from: Option<Phase>,
    /// Install (or a rollback's re-install): the request got no answer, so the boot ID is
    /// probed before anything is sent again (a legacy install reboots the node by itself).
    pub(crate) install_unconfirmed: bool,
    /// With `install_unconfirmed`: the install may never have reached the node (its answer
    /// was lost live, or the process that journaled it stopped before its answer). A legacy
    /// install is then sent again once the node answers running and ready on the same boot
    /// (a node already running it answers busy, which is awaited); otherwise it is only
    /// awaited.
    pub(crate) install_send_unknown: bool,
    /// Boot ID before the forward reboot.
    pub(crate) boot_before: Option<String>,
    /// Boot ID when the rollback began.
    pub(crate) rollback_boot_before: Option<String>,
    /// Forward steps started (journaled before running).
    pub(crate) started: BTreeSet<Step>,
    /// Forward steps completed.
    pub(crate) completed: BTreeSet<Step>,
    /// Rollback steps started.
    pub(crate) rollback_started: BTreeSet<Step>,
    /// Rollback steps completed.
    pub(crate) rollback_completed: BTreeSet<Step>,
    /// Rolling back to the node's originals (`None`: to the plan's `from` and this
    /// rollout's backup).
    pub(crate) rollback_to: Option<OriginalTarget>,
    /// Rollback Inspect: the live image differs from the rollback's target image.
    pub(crate) rollback_image_differs: bool,
    /// The Rollback RPC went unanswered and never acted: the rollback re-installs instead.
    pub(crate) rollback_rpc_replaced: bool,
    pub(crate) last_verdict: Option<GateVerdict>,
    pub(crate) failure: Option<NodeFailure>,
}

impl NodeState {
    pub(crate) fn new(plan: NodePlan) -> Self {
        NodeState {
            plan,
            phase: Phase::Pending,
            deadline: None,
            wake_at: None,
            waiting_for_change: false,
            changed_during_check: false,
            feed_connected: false,
            in_flight: None,
            attempts: 0,
            inspected: false,
            post_verify_step: 0,
            seen_down: false,
            reboot_unconfirmed: false,
            reboot_resend_from: None,
            install_unconfirmed: false,
            install_send_unknown: false,
            boot_before: None,
            rollback_boot_before: None,
            started: BTreeSet::new(),
            completed: BTreeSet::new(),
            rollback_started: BTreeSet::new(),
            rollback_completed: BTreeSet::new(),
            rollback_to: None,
            rollback_image_differs: false,
            rollback_rpc_replaced: false,
            last_verdict: None,
            failure: None,
        }
    }

    /// The image a rollback returns the node to: its originals', or the plan's `from`.
    pub(crate) fn rollback_image(&self) -> &NodeImage {
        self.rollback_to
            .as_ref()
            .map_or(&self.plan.from, |target| &target.image)
    }

    pub(crate) fn name(&self) -> &str {
        &self.plan.node
    }

    pub(crate) fn in_rollback(&self) -> bool {
        matches!(self.phase, Phase::Rollback(_))
    }

    /// What to do when the current phase timed out after a request whose answer was lost, or
    /// a reboot that never came back (empty otherwise).
    pub(crate) fn timeout_hint(&self) -> &'static str {
        let awaiting_reboot = matches!(
            self.phase,
            Phase::AwaitReboot | Phase::Rollback(super::RollbackStep::AwaitReboot)
        );
        if self.reboot_unconfirmed {
            "; the reboot request got no answer and the node kept its boot ID: reboot it by hand \
             and resume, or roll it back"
        } else if self.install_unconfirmed && self.seen_down {
            "; the install request got no answer and the node went down without coming back: \
             check its console, then resume, or roll it back"
        } else if self.install_unconfirmed {
            "; the install request got no answer, no new boot was seen and the node never \
             answered idle on its boot, so it was not sent again (a legacy upgrade reboots the \
             node by itself and may still be running): \
             check the node (talosctl dmesg), then resume, or roll it back"
        } else if awaiting_reboot {
            "; the node did not come back running and ready with a new boot ID: check its \
             console (talosctl dmesg once it answers), then resume, or roll it back"
        } else {
            ""
        }
    }

    /// True once any step that may have changed the node has started.
    pub(crate) fn changed_anything(&self) -> bool {
        self.started.iter().any(|step| step.is_disruptive())
    }

    /// The node runs the target image and config.
    pub(crate) fn is_converged(&self, live: &LiveNode) -> bool {
        let to = &self.plan.to;
        let esc_ok =
            self.plan.extension.esc.as_ref().is_none_or(|esc| {
                live.extension_service_configs.get(&esc.name) == Some(&esc.digest)
            });
        live.version == to.version && live.schematic_id == to.schematic_id && esc_ok
    }

    pub(crate) fn status(&self) -> NodeStatus {
        NodeStatus {
            node: self.plan.node.clone(),
            role: self.plan.role,
            phase: self.phase,
            completed: self.completed.iter().copied().collect(),
            failure: self.failure.clone(),
        }
    }
}

/// Where a rollback to the originals returns a node.
#[derive(Debug, Clone)]
pub(crate) struct OriginalTarget {
    /// The original image.
    pub(crate) image: NodeImage,
    /// The Talos `Rollback` RPC lands on it: the original is this rollout's `from` and
    /// the node was never rolled back in this rollout (its previous boot entry is then the
    /// original once it booted the new image).
    pub(crate) previous_entry_is_original: bool,
}

/// A read-only view of one node's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Node.
    pub node: String,
    /// Role.
    pub role: NodeRole,
    /// Current phase.
    pub phase: Phase,
    /// Forward steps completed.
    pub completed: Vec<Step>,
    /// Failure, if the node failed.
    pub failure: Option<NodeFailure>,
}

/// Adds `step` to a set of steps done (or started): a cordon taken again (after the
/// uncordon that undid a failed drain) makes the earlier uncordon history, so the node
/// counts as cordoned by this rollout until it is uncordoned again.
pub(crate) fn complete(steps: &mut BTreeSet<Step>, step: Step) {
    if step == Step::Cordon {
        steps.remove(&Step::Uncordon);
    }
    steps.insert(step);
}
