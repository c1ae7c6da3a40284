//! The rollback path: restore the backed-up (or original) config, boot the previous (or
//! original) image, verify.

use std::time::Instant;

use super::node_state::OriginalTarget;
use super::{JournalEntry, LiveNode, Phase, RollbackMethod, RollbackStep, Rollout, Step};
use crate::plan::NodeImage;

impl Rollout {
    /// How to boot the rollback's target image; `None` when there is no safe way (the node
    /// then halts). The Talos `Rollback` RPC only when the previous boot entry is that image:
    /// the node booted the new image once since our install and the target is this
    /// rollout's `from` (and an earlier RPC was not lost unanswered); otherwise the target's
    /// installer is installed again.
    pub(crate) fn rollback_method(&self, index: usize) -> Option<RollbackMethod> {
        let node = &self.nodes[index];
        let booted_new_image =
            node.boot_before.is_some() && node.rollback_boot_before != node.boot_before;
        let previous_entry_is_target = node
            .rollback_to
            .as_ref()
            .is_none_or(|target| target.previous_entry_is_original);
        if booted_new_image && previous_entry_is_target && !node.rollback_rpc_replaced {
            Some(RollbackMethod::RollbackRpc)
        } else {
            node.rollback_image()
                .install_image
                .clone()
                .map(|image| RollbackMethod::Reinstall { image })
        }
    }

    /// Aims the node's rollback at its originals (from [`Rollout::roll_back_to_original`] or
    /// its journal entry): an earlier rollback of this rollout is forgotten, so the new one
    /// restores and re-installs afresh.
    pub(crate) fn aim_at_original(&mut self, index: usize, original: NodeImage) {
        let node = &mut self.nodes[index];
        let from = &node.plan.from;
        let previous_entry_is_original = node.rollback_started.is_empty()
            && original.version == from.version
            && original.schematic_id == from.schematic_id
            && original.install_image == from.install_image;
        node.rollback_to = Some(OriginalTarget {
            image: original,
            previous_entry_is_original,
        });
        node.rollback_started.clear();
        node.rollback_completed.clear();
        node.rollback_boot_before = None;
        node.rollback_rpc_replaced = false;
    }

    fn needs_config_restore(&self, index: usize) -> bool {
        let node = &self.nodes[index];
        (node.started.contains(&Step::ApplyConfig) || node.rollback_to.is_some())
            && !node.rollback_completed.contains(&Step::RestoreConfig)
    }

    fn needs_boot_previous(&self, index: usize) -> bool {
        let node = &self.nodes[index];
        let image_changed = node.started.contains(&Step::Install)
            || (node.rollback_to.is_some() && node.rollback_image_differs);
        image_changed && !node.rollback_started.contains(&Step::BootPrevious)
    }

    /// Decides the first rollback step from the node's live state and what was already undone.
    pub(crate) fn on_rollback_inspected(&mut self, index: usize, live: LiveNode, now: Instant) {
        let node = &mut self.nodes[index];
        let target = node.rollback_image();
        node.rollback_image_differs =
            live.version != target.version || live.schematic_id != target.schematic_id;
        if node.rollback_boot_before.is_none() {
            node.rollback_boot_before.clone_from(&live.boot_id);
            if let Some(boot_id) = live.boot_id.clone() {
                let name = node.plan.node.clone();
                self.record(JournalEntry::BootRecorded {
                    node: name,
                    boot_id,
                    rollback: true,
                });
            }
        }
        let node = &self.nodes[index];
        let boot_previous_issued = node.rollback_started.contains(&Step::BootPrevious);
        let next = if boot_previous_issued {
            let rebooted = live.boot_id.is_some() && live.boot_id != node.rollback_boot_before;
            let reinstall_done = node.rollback_completed.contains(&Step::BootPrevious)
                && matches!(
                    self.rollback_method(index),
                    Some(RollbackMethod::Reinstall { .. })
                );
            if rebooted {
                Phase::Rollback(RollbackStep::Verify)
            } else if reinstall_done
                && !node.rollback_started.contains(&Step::Reboot)
                && !self.install_may_reboot(index)
            {
                // A legacy re-install reboots by itself: it is awaited below instead.
                Phase::Rollback(RollbackStep::Reboot)
            } else if !node.rollback_completed.contains(&Step::BootPrevious)
                && matches!(
                    self.rollback_method(index),
                    Some(RollbackMethod::Reinstall { .. })
                )
            {
                Phase::Rollback(RollbackStep::BootPrevious)
            } else {
                Phase::Rollback(RollbackStep::AwaitReboot)
            }
        } else {
            self.rollback_after(index, RollbackStep::Inspect)
        };
        if next == Phase::Rollback(RollbackStep::BootPrevious)
            && self.rollback_method(index).is_none()
        {
            let reason = "cannot roll back the image: the original install image is unknown and the node has not \
                          booted the new image; roll back by hand with talosctl"
                .to_owned();
            return self.fail(index, reason, None, now);
        }
        self.enter(index, next, now);
        if boot_previous_issued {
            self.mark_unconfirmed(index);
        }
    }

    fn rollback_after(&self, index: usize, done: RollbackStep) -> Phase {
        let restore = done == RollbackStep::Inspect && self.needs_config_restore(index);
        if restore {
            Phase::Rollback(RollbackStep::RestoreConfig)
        } else if self.needs_boot_previous(index) {
            Phase::Rollback(RollbackStep::BootPrevious)
        } else {
            Phase::Rollback(RollbackStep::Verify)
        }
    }

    pub(crate) fn after_rollback_step(
        &mut self,
        index: usize,
        step: Step,
        reboot_started: bool,
        now: Instant,
    ) {
        let next = match step {
            Step::RestoreConfig => self.rollback_after(index, RollbackStep::RestoreConfig),
            Step::BootPrevious if reboot_started => Phase::Rollback(RollbackStep::AwaitReboot),
            Step::BootPrevious => Phase::Rollback(RollbackStep::Reboot),
            Step::Reboot => Phase::Rollback(RollbackStep::AwaitReboot),
            _ => return,
        };
        if next == Phase::Rollback(RollbackStep::BootPrevious)
            && self.rollback_method(index).is_none()
        {
            let reason =
                "cannot roll back the image: the original install image is unknown".to_owned();
            return self.fail(index, reason, None, now);
        }
        self.enter(index, next, now);
    }
}
