//! Fault injection: switches that make the simulated systems misbehave the way real ones do.
//!
//! A [`Faults`] value is shared by every part of a running sim (cloning it is cheap and all
//! clones see the same switches), so a test or the `sim-cluster` CLI can flip a fault at any
//! time. Node faults are keyed by the node's hostname. The switches of the Talos API and
//! its nodes' boot behaviour live in `talos_node`, those of what runs inside extension
//! services in `extension_service`, those of the Kubernetes API in `kube_api`.

mod extension_service;
mod kube_api;
mod talos_node;

pub use talos_node::CallDrop;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The extension a node "loses" when [`Faults::node_returns_without_extension`] is used without a name.
pub const TAILSCALE_EXTENSION: &str = "siderolabs/tailscale";

/// Shared, switchable faults for a running sim.
///
/// # Usage
///
/// ```
/// use std::time::Duration;
/// let faults = sim::Faults::default();
/// faults
///     .node_never_returns("k8s-2")
///     .tailnet_rate_limited(3, Duration::from_secs(2))
///     .factory_server_errors(2);
/// assert!(faults.is_node_never_returning("k8s-2"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<FaultSet>>,
    changed: Arc<tokio::sync::Notify>,
}

#[derive(Debug, Default)]
struct FaultSet {
    never_returns: BTreeSet<String>,
    missing_extension: BTreeMap<String, String>,
    slow_reboot: BTreeMap<String, Duration>,
    tailscale_auth_fails: BTreeSet<String>,
    device_never_connects: BTreeSet<String>,
    routes_never_advertised: BTreeSet<String>,
    factory_server_errors: u32,
    tailnet_rate_limit: Option<(u32, Duration)>,
    apid_drop_every: Option<u32>,
    apid_calls: u32,
    talos: talos_node::TalosFaults,
    extension_services: extension_service::ExtensionServiceFaults,
    kube_api: kube_api::KubeApiFaults,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultSet> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After its next reboot or upgrade the node stays down (apid answers `Unavailable`)
    /// until [`Faults::let_node_return`] or [`Faults::clear`] lifts the fault.
    pub fn node_never_returns(&self, node: impl Into<String>) -> &Self {
        self.lock().never_returns.insert(node.into());
        self
    }

    /// Lifts [`Faults::node_never_returns`]: a node held down boots now.
    pub fn let_node_return(&self, node: &str) -> &Self {
        self.lock().never_returns.remove(node);
        self.changed.notify_waiters();
        self
    }

    /// After its next upgrade the node boots without `extension` (for example
    /// [`TAILSCALE_EXTENSION`]) although the installed schematic lists it.
    pub fn node_returns_without_extension(
        &self,
        node: impl Into<String>,
        extension: impl Into<String>,
    ) -> &Self {
        self.lock()
            .missing_extension
            .insert(node.into(), extension.into());
        self
    }

    /// The node's reboots take `extra` longer than the configured reboot time.
    pub fn slow_reboot(&self, node: impl Into<String>, extra: Duration) -> &Self {
        self.lock().slow_reboot.insert(node.into(), extra);
        self
    }

    /// The node's `ext-tailscale` fails to log in (auth error in its log) and crash-loops,
    /// whatever key it is given.
    pub fn tailscale_auth_fails(&self, node: impl Into<String>) -> &Self {
        self.lock().tailscale_auth_fails.insert(node.into());
        self
    }

    /// The node's tailnet device registers but never reports `connectedToControl`.
    pub fn device_never_connects(&self, node: impl Into<String>) -> &Self {
        self.lock().device_never_connects.insert(node.into());
        self
    }

    /// The node's tailnet device never advertises its `TS_ROUTES`.
    pub fn routes_never_advertised(&self, node: impl Into<String>) -> &Self {
        self.lock().routes_never_advertised.insert(node.into());
        self
    }

    /// The next `count` Image Factory requests answer `500 internal server error`.
    pub fn factory_server_errors(&self, count: u32) -> &Self {
        self.lock().factory_server_errors = count;
        self
    }

    /// The next `count` tailnet API requests answer `429` with `Retry-After: <retry_after>`.
    pub fn tailnet_rate_limited(&self, count: u32, retry_after: Duration) -> &Self {
        self.lock().tailnet_rate_limit = (count > 0).then_some((count, retry_after));
        self
    }

    /// Every `every`-th apid call drops all open connections before it is answered.
    pub fn apid_drops_connections(&self, every: u32) -> &Self {
        let mut state = self.lock();
        state.apid_drop_every = (every > 0).then_some(every);
        state.apid_calls = 0;
        self
    }

    /// Turns every fault off (nodes held down boot now).
    pub fn clear(&self) {
        *self.lock() = FaultSet::default();
        self.changed.notify_waiters();
    }

    /// Waits while the node is held down by [`Faults::node_never_returns`].
    pub(crate) async fn until_node_may_return(&self, node: &str) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !self.is_node_never_returning(node) {
                return;
            }
            changed.await;
        }
    }

    /// Whether the node is set to never return from a reboot.
    pub fn is_node_never_returning(&self, node: &str) -> bool {
        self.lock().never_returns.contains(node)
    }

    /// The extension the node loses on its next upgrade, if any.
    pub fn missing_extension(&self, node: &str) -> Option<String> {
        self.lock().missing_extension.get(node).cloned()
    }

    /// Extra reboot time for the node.
    pub fn extra_reboot_time(&self, node: &str) -> Duration {
        self.lock()
            .slow_reboot
            .get(node)
            .copied()
            .unwrap_or_default()
    }

    /// Whether the node's `ext-tailscale` is set to fail its login.
    pub fn is_tailscale_auth_failing(&self, node: &str) -> bool {
        self.lock().tailscale_auth_fails.contains(node)
    }

    /// Whether the node's device is set to never connect.
    pub fn is_device_never_connecting(&self, node: &str) -> bool {
        self.lock().device_never_connects.contains(node)
    }

    /// Whether the node's device is set to never advertise routes.
    pub fn is_routes_never_advertised(&self, node: &str) -> bool {
        self.lock().routes_never_advertised.contains(node)
    }

    /// Consumes one pending factory 5xx, returning whether this request must fail.
    pub(crate) fn take_factory_server_error(&self) -> bool {
        let mut state = self.lock();
        if state.factory_server_errors == 0 {
            return false;
        }
        state.factory_server_errors -= 1;
        true
    }

    /// Consumes one pending tailnet 429, returning its `Retry-After`.
    pub(crate) fn take_tailnet_rate_limit(&self) -> Option<Duration> {
        let mut state = self.lock();
        let (remaining, retry_after) = state.tailnet_rate_limit?;
        state.tailnet_rate_limit = (remaining > 1).then_some((remaining - 1, retry_after));
        Some(retry_after)
    }

    /// Counts one apid call, returning whether connections must be dropped now.
    pub(crate) fn count_apid_call(&self) -> bool {
        let mut state = self.lock();
        let Some(every) = state.apid_drop_every else {
            return false;
        };
        state.apid_calls += 1;
        state.apid_calls.is_multiple_of(every)
    }
}
