//! The rollback path: restore the backed-up config, boot the previous image, verify.

use std::time::Instant;

use super::JournalEntry;
use super::{LiveNode, Phase, RollbackMethod, RollbackStep, Rollout, Step};

impl Rollout {
    /// How to boot the previous image; `None` when there is no safe way (the node then halts).
    pub(crate) fn rollback_method(&self, index: usize) -> Option<RollbackMethod> {
        let node = &self.nodes[index];
        // The previous boot entry is the original image exactly when the node booted once since our install.
        let booted_new_image =
            node.boot_before.is_some() && node.rollback_boot_before != node.boot_before;
        if booted_new_image {
            Some(RollbackMethod::RollbackRpc)
        } else {
            node.plan
                .from
                .install_image
                .clone()
                .map(|image| RollbackMethod::Reinstall { image })
        }
    }

    fn needs_config_restore(&self, index: usize) -> bool {
        let node = &self.nodes[index];
        node.started.contains(&Step::ApplyConfig)
            && !node.rollback_completed.contains(&Step::RestoreConfig)
    }

    fn needs_boot_previous(&self, index: usize) -> bool {
        let node = &self.nodes[index];
        node.started.contains(&Step::Install)
            && !node.rollback_started.contains(&Step::BootPrevious)
    }

    /// Decides the first rollback step from the node's live state and what was already undone.
    pub(crate) fn on_rollback_inspected(&mut self, index: usize, live: LiveNode, now: Instant) {
        let node = &mut self.nodes[index];
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
