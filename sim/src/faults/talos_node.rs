//! Switches for how a Talos node and its API misbehave: builds without the lifecycle API,
//! installers that fail, pulls that stall, a `Version` that hangs, legacy upgrades whose
//! sequence fails, abrupt reboots, late status of the old boot, boot-ID reads that lag
//! behind a reboot, apid endpoints that answer `Unavailable`, and one call to one node whose
//! connection drops before or after the node handled it.

use std::collections::{BTreeMap, BTreeSet};

use super::Faults;

/// The Talos switches inside [`Faults`]' one lock.
#[derive(Debug, Default)]
pub(super) struct TalosFaults {
    lifecycle_api_missing: BTreeSet<String>,
    installer_exit_code: BTreeMap<String, i32>,
    image_pull_stalls: BTreeSet<String>,
    version_hangs: BTreeSet<String>,
    upgrade_sequence_error: BTreeMap<String, String>,
    abrupt_reboots: BTreeSet<String>,
    stale_ready_on_reboot: BTreeSet<String>,
    stale_boot_id_reads: BTreeMap<String, u32>,
    unavailable_endpoints: BTreeSet<usize>,
    call_drops: BTreeMap<(String, String), CallDrop>,
}

/// When [`Faults::apid_drops_call`] breaks the connection, relative to the node's handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallDrop {
    /// Before the node sees the call: the request is lost and nothing happened.
    RequestLost,
    /// After the node carried the call out: the work is done and the answer is lost.
    AnswerLost,
}

impl Faults {
    /// The node's apid has no `machine.ImageService` or `machine.LifecycleService` (a build
    /// without them, such as an early 1.13 pre-release): they answer `Unimplemented`
    /// whatever the version says.
    pub fn lifecycle_api_missing(&self, node: impl Into<String>) -> &Self {
        self.lock().talos.lifecycle_api_missing.insert(node.into());
        self
    }

    /// The installer run by `LifecycleService.Upgrade` on the node exits with `exit_code`
    /// (not 0: nothing is installed).
    pub fn installer_exits_with(&self, node: impl Into<String>, exit_code: i32) -> &Self {
        self.lock()
            .talos
            .installer_exit_code
            .insert(node.into(), exit_code);
        self
    }

    /// `ImageService.Pull` on the node reports the first progress, then nothing more (a
    /// registry that stopped sending); the image never arrives.
    pub fn image_pull_stalls(&self, node: impl Into<String>) -> &Self {
        self.lock().talos.image_pull_stalls.insert(node.into());
        self
    }

    /// `MachineService.Version` on the node never answers (a hung machined).
    pub fn version_hangs(&self, node: impl Into<String>) -> &Self {
        self.lock().talos.version_hangs.insert(node.into());
        self
    }

    /// The node's legacy `MachineService.Upgrade` is accepted, then its background
    /// `upgrade` sequence stops with `error` (for example failed etcd checks); the node
    /// keeps running and does not reboot.
    pub fn upgrade_sequence_fails(
        &self,
        node: impl Into<String>,
        error: impl Into<String>,
    ) -> &Self {
        self.lock()
            .talos
            .upgrade_sequence_error
            .insert(node.into(), error.into());
        self
    }

    /// The node's reboots are abrupt (power cycle, kernel panic): no going-down events, no
    /// shutdown phase, and open streams simply end instead of failing with `Unavailable`.
    pub fn abrupt_reboots(&self, node: impl Into<String>) -> &Self {
        self.lock().talos.abrupt_reboots.insert(node.into());
        self
    }

    /// When the node starts a reboot, a last "running and ready" status of the old boot
    /// arrives first (a late status update), before any going-down event.
    pub fn stale_ready_on_reboot(&self, node: impl Into<String>) -> &Self {
        self.lock().talos.stale_ready_on_reboot.insert(node.into());
        self
    }

    /// After each boot, the node's first `reads` boot-ID reads (the `BootIDs` resource or
    /// the kernel file) still return the previous boot's ID.
    pub fn stale_boot_id_reads(&self, node: impl Into<String>, reads: u32) -> &Self {
        self.lock()
            .talos
            .stale_boot_id_reads
            .insert(node.into(), reads);
        self
    }

    /// apid endpoint `index` (see [`crate::Sim::endpoints`]) answers every call
    /// `Unavailable`, as when its own node's machined is gone.
    pub fn apid_endpoint_unavailable(&self, index: usize) -> &Self {
        self.lock().talos.unavailable_endpoints.insert(index);
        self
    }

    /// The next call of gRPC `method` (a path such as `/machine.MachineService/Reboot`)
    /// routed to `node` drops every open apid connection, before or after the node
    /// handled it (`drop`); the client sees a transport error either way. Fires once.
    pub fn apid_drops_call(
        &self,
        node: impl Into<String>,
        method: impl Into<String>,
        drop: CallDrop,
    ) -> &Self {
        self.lock()
            .talos
            .call_drops
            .insert((node.into(), method.into()), drop);
        self
    }

    /// Whether an [`Faults::apid_drops_call`] for `node` and `method` has yet to fire.
    pub fn is_call_drop_pending(&self, node: &str, method: &str) -> bool {
        self.lock()
            .talos
            .call_drops
            .contains_key(&(node.to_owned(), method.to_owned()))
    }

    /// Consumes the drop set for this call of `method` to `node`, if any.
    pub(crate) fn take_call_drop(&self, node: &str, method: &str) -> Option<CallDrop> {
        self.lock()
            .talos
            .call_drops
            .remove(&(node.to_owned(), method.to_owned()))
    }

    /// Whether the node's apid lacks the image and lifecycle services.
    pub(crate) fn is_lifecycle_api_missing(&self, node: &str) -> bool {
        self.lock().talos.lifecycle_api_missing.contains(node)
    }

    /// The exit code the node's installer is set to fail with.
    pub(crate) fn installer_exit_code(&self, node: &str) -> Option<i32> {
        self.lock().talos.installer_exit_code.get(node).copied()
    }

    /// Whether image pulls on the node stall.
    pub(crate) fn is_image_pull_stalling(&self, node: &str) -> bool {
        self.lock().talos.image_pull_stalls.contains(node)
    }

    /// Whether `Version` on the node hangs.
    pub(crate) fn is_version_hanging(&self, node: &str) -> bool {
        self.lock().talos.version_hangs.contains(node)
    }

    /// The error the node's legacy upgrade sequence is set to fail with.
    pub(crate) fn upgrade_sequence_error(&self, node: &str) -> Option<String> {
        self.lock().talos.upgrade_sequence_error.get(node).cloned()
    }

    /// Whether the node's reboots are abrupt.
    pub(crate) fn is_rebooting_abruptly(&self, node: &str) -> bool {
        self.lock().talos.abrupt_reboots.contains(node)
    }

    /// Whether the node announces a stale "running and ready" when a reboot starts.
    pub(crate) fn is_announcing_stale_ready(&self, node: &str) -> bool {
        self.lock().talos.stale_ready_on_reboot.contains(node)
    }

    /// How many boot-ID reads after a boot of the node return the previous ID.
    pub(crate) fn stale_boot_id_read_count(&self, node: &str) -> u32 {
        self.lock()
            .talos
            .stale_boot_id_reads
            .get(node)
            .copied()
            .unwrap_or_default()
    }

    /// Whether apid endpoint `index` answers everything `Unavailable`.
    pub(crate) fn is_apid_endpoint_unavailable(&self, index: usize) -> bool {
        self.lock().talos.unavailable_endpoints.contains(&index)
    }
}
