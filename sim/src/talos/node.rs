//! One simulated node: its mutable state (boot, image, extensions, config, services, logs,
//! events) behind a lock, and a change signal that streams and watches wait on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use factory_client::SchematicId;
use prost_types::Any;
use talos_client::machine_config::ExtensionServiceConfig;
use talos_client::proto::machine::machine_status_event::MachineStage;
use tokio::sync::watch;

use super::boot::Boot;
use super::events::{self, EventLog};
use super::resources::ResourceVersions;
use super::services::{ServiceState, ServiceTable};
use super::spec::NodeSpec;
use crate::clock::SimClock;
use crate::factory::InstalledExtension;

/// What a boot entry boots: a Talos version from an installer image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BootEntry {
    pub(crate) version: String,
    pub(crate) image: String,
    /// The factory schematic the image was built from (None for plain `ghcr.io` installers).
    pub(crate) schematic: Option<SchematicId>,
}

/// An extension service configuration as the node rendered it, with its spec version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EscRecord {
    pub(crate) config: ExtensionServiceConfig,
    pub(crate) version: u64,
}

/// Everything about a node that changes over time.
#[derive(Debug)]
pub(crate) struct NodeState {
    /// False while the node is down (rebooting, or never coming back).
    pub(crate) up: bool,
    /// Ends with the current boot: open streams then fail with `Unavailable` (or end).
    pub(crate) boot: Boot,
    /// How many times the node has booted (1 after the sim starts).
    pub(crate) boots: u32,
    pub(crate) stage: MachineStage,
    pub(crate) ready: bool,
    pub(crate) boot_id: String,
    /// The previous boot's ID, and how many boot-ID reads still return it (a fault).
    pub(crate) stale_boot_id: Option<(String, u32)>,
    pub(crate) installed: BootEntry,
    pub(crate) next_boot: Option<BootEntry>,
    pub(crate) previous_boot: Option<BootEntry>,
    pub(crate) extensions: Vec<InstalledExtension>,
    pub(crate) config: Vec<u8>,
    pub(crate) staged_config: Option<Vec<u8>>,
    pub(crate) escs: BTreeMap<String, EscRecord>,
    pub(crate) services: ServiceTable,
    pub(crate) logs: BTreeMap<String, Vec<u8>>,
    pub(crate) events: EventLog,
    /// tailscaled state in `/var/lib/tailscale` (survives reboots): the device it is logged in as.
    pub(crate) tailscale_device: Option<String>,
    /// Images in the node's containerd stores: (driver, namespace, reference).
    pub(crate) pulled_images: BTreeSet<(i32, i32, String)>,
    /// The sequence in progress (`reboot`, `upgrade`, …); another one is refused meanwhile.
    pub(crate) sequence: Option<&'static str>,
    /// Whether a restart loop for a failed extension service is running.
    pub(crate) crash_loop_active: bool,
    pub(crate) resource_versions: ResourceVersions,
}

impl NodeState {
    pub(crate) fn emit(&mut self, actor_id: &str, payload: Any) {
        self.events.push(actor_id, payload);
    }

    /// Changes a service's state, records it in the service history and emits the event.
    pub(crate) fn set_service(
        &mut self,
        clock: &SimClock,
        id: &str,
        state: ServiceState,
        message: &str,
    ) {
        self.services.transition(id, state, message, clock.now());
        self.emit("", events::service_state(id, state.event_action(), message));
    }

    /// Appends to a service's log.
    pub(crate) fn log(&mut self, service_id: &str, text: &str) {
        self.logs
            .entry(service_id.to_owned())
            .or_default()
            .extend_from_slice(text.as_bytes());
    }

    /// Changes the machine stage and emits the `MachineStatusEvent`.
    pub(crate) fn set_stage(&mut self, actor_id: &str, stage: MachineStage, ready: bool) {
        self.stage = stage;
        self.ready = ready;
        self.emit(actor_id, events::machine_status(stage, ready));
    }

    /// The boot ID as a reader sees it: the previous one while a stale-read fault lasts.
    pub(crate) fn read_boot_id(&mut self) -> String {
        if let Some((previous, remaining)) = self.stale_boot_id.as_mut() {
            let stale = previous.clone();
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                self.stale_boot_id = None;
            }
            return stale;
        }
        self.boot_id.clone()
    }

    /// The ESC named `name`, if the configuration has one.
    pub(crate) fn esc(&self, name: &str) -> Option<&EscRecord> {
        self.escs.get(name)
    }
}

/// A node: fixed identity plus locked state and a change counter.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) spec: NodeSpec,
    state: Mutex<NodeState>,
    changed: watch::Sender<u64>,
}

impl Node {
    pub(crate) fn new(spec: NodeSpec, state: NodeState) -> Self {
        let (changed, _) = watch::channel(0);
        Self {
            spec,
            state: Mutex::new(state),
            changed,
        }
    }

    fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the state.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&NodeState) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the state and wakes everything waiting for a change.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut NodeState) -> R) -> R {
        let result = f(&mut self.lock());
        self.changed.send_modify(|generation| *generation += 1);
        result
    }

    /// Changes bookkeeping that nobody waits for (resource versions), without waking watchers.
    pub(crate) fn update_quietly<R>(&self, f: impl FnOnce(&mut NodeState) -> R) -> R {
        f(&mut self.lock())
    }

    /// A receiver that sees every later [`Node::update`].
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}
