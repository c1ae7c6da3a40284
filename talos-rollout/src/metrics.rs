//! Prometheus metrics (OpenMetrics text, through the `prometheus-client` crate): per-node
//! health from [`check_health`](crate::profiles::tailscale::check_health) rounds
//! ([`HealthMetrics`]) and rollout progress from the event stream ([`RolloutMetrics`]).
//! Serving them over HTTP is the embedder's choice; `encode()` gives the scrape body.
//!
//! Every metric is prefixed `talos_rollout_`. A value that was not read in the last round
//! (for example the device of a node whose extension is missing) has no series, so alerts
//! on it neither fire nor resolve falsely.
//!
//! # Usage
//! ```no_run
//! # async fn example(talos: talos_client::TalosClient, tailnet: tailscale_client::TailscaleClient) {
//! use talos_rollout::metrics::HealthMetrics;
//! use talos_rollout::profiles::tailscale::check_health;
//! let metrics = HealthMetrics::new();
//! let round = check_health(&talos, &tailnet, &["10.0.0.2".to_owned()], "tailscale").await;
//! metrics.observe(&round, std::time::SystemTime::now());
//! let body = metrics.encode();
//! assert!(body.contains("talos_rollout_tailscale_device_online"));
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rollout_core::machine::Phase;
use rollout_core::{Plan, RolloutEvent};

use crate::driver::EventStream;
use crate::event::{Event, RunEvent};
use crate::profiles::tailscale::{Health, HealthRound, NodeHealth};

/// The prefix of every metric name.
const PREFIX: &str = "talos_rollout";

/// The content type of [`HealthMetrics::encode`] and [`RolloutMetrics::encode`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A node.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabel {
    node: String,
}

/// A node and its extension.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExtensionLabels {
    node: String,
    extension: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    node: String,
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    node: String,
    device: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    node: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SchematicLabels {
    node: String,
    schematic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HealthLabels {
    node: String,
    health: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    node: String,
    phase: String,
}

type GaugeFamily<L> = Family<L, Gauge>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Registers a gauge family under `name` and returns a handle to it.
fn family<L>(registry: &mut Registry, name: &str, help: &str) -> GaugeFamily<L>
where
    L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static,
{
    let family = GaugeFamily::<L>::default();
    registry.register(name, help, family.clone());
    family
}

fn unix_seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs_f64())
        .unwrap_or_default()
}

/// Per-node health metrics, replaced by every [`observe`](Self::observe)d round.
///
/// | metric | labels | value |
/// |---|---|---|
/// | `talos_rollout_node_health` | node, health | 1 for the node's health (`healthy`, `unknown`, `unhealthy`), 0 for the others |
/// | `talos_rollout_extension_installed` | node, extension | 1 / 0 |
/// | `talos_rollout_extension_service_running` | node, service | 1 / 0 |
/// | `talos_rollout_schematic_info` | node, schematic | 1 (the schematic ID the node's image was built from) |
/// | `talos_rollout_tailscale_device_online` | node, device | 1 / 0 (connected to the control plane) |
/// | `talos_rollout_tailscale_device_last_seen_timestamp_seconds` | node, device | Unix time |
/// | `talos_rollout_tailscale_key_expiry_seconds` | node, device | seconds until the node key expires (negative once expired; absent when expiry is disabled) |
/// | `talos_rollout_tailscale_routes_advertised` | node | number of routes the device advertises |
/// | `talos_rollout_tailscale_route_approved` | node, route | 1 / 0 per advertised route |
/// | `talos_rollout_health_check_timestamp_seconds` | | Unix time of the round |
#[derive(Debug)]
pub struct HealthMetrics {
    registry: Registry,
    /// Held while a round replaces the series and while encoding, so a scrape never sees
    /// half a round.
    lock: Mutex<()>,
    health: GaugeFamily<HealthLabels>,
    installed: GaugeFamily<ExtensionLabels>,
    running: GaugeFamily<ServiceLabels>,
    schematic: GaugeFamily<SchematicLabels>,
    online: GaugeFamily<DeviceLabels>,
    last_seen: GaugeFamily<DeviceLabels>,
    key_expiry: GaugeFamily<DeviceLabels>,
    advertised: GaugeFamily<NodeLabel>,
    approved: GaugeFamily<RouteLabels>,
    checked_at: FloatGauge,
}

impl Default for HealthMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl HealthMetrics {
    /// An empty set (no series until the first round).
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let checked_at = FloatGauge::default();
        registry.register(
            "health_check_timestamp_seconds",
            "When the last health check round finished (Unix seconds)",
            checked_at.clone(),
        );
        let r = &mut registry;
        Self {
            health: family(
                r,
                "node_health",
                "Node health from the last check (1 for the current state)",
            ),
            installed: family(
                r,
                "extension_installed",
                "The extension is installed on the node",
            ),
            running: family(
                r,
                "extension_service_running",
                "The extension's service runs on the node",
            ),
            schematic: family(
                r,
                "schematic_info",
                "The schematic ID the node's image was built from",
            ),
            online: family(
                r,
                "tailscale_device_online",
                "The node's tailnet device is connected to the control plane",
            ),
            last_seen: family(
                r,
                "tailscale_device_last_seen_timestamp_seconds",
                "When the control plane last saw the device (Unix seconds)",
            ),
            key_expiry: family(
                r,
                "tailscale_key_expiry_seconds",
                "Seconds until the device's node key expires (negative once expired)",
            ),
            advertised: family(
                r,
                "tailscale_routes_advertised",
                "Number of subnet routes the device advertises",
            ),
            approved: family(
                r,
                "tailscale_route_approved",
                "An advertised subnet route is approved",
            ),
            checked_at,
            lock: Mutex::new(()),
            registry,
        }
    }

    /// Replaces every series with the values of `round`, checked at `now`.
    pub fn observe(&self, round: &HealthRound, now: SystemTime) {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.health.clear();
        self.installed.clear();
        self.running.clear();
        self.schematic.clear();
        self.online.clear();
        self.last_seen.clear();
        self.key_expiry.clear();
        self.advertised.clear();
        self.approved.clear();
        let now_seconds = unix_seconds(now);
        for node in &round.nodes {
            self.observe_node(node, &round.extension, now_seconds);
        }
        self.checked_at.set(now_seconds);
    }

    fn observe_node(&self, node: &NodeHealth, extension: &str, now: f64) {
        let name = || node.node.clone();
        for (health, label) in [
            (Health::Healthy, "healthy"),
            (Health::Unknown, "unknown"),
            (Health::Unhealthy, "unhealthy"),
        ] {
            let labels = HealthLabels {
                node: name(),
                health: label.to_owned(),
            };
            self.health
                .get_or_create(&labels)
                .set(i64::from(node.health == health));
        }
        if let Some(installed) = node.extension_installed {
            let labels = ExtensionLabels {
                node: name(),
                extension: extension.to_owned(),
            };
            self.installed
                .get_or_create(&labels)
                .set(i64::from(installed));
        }
        if let Some(running) = node.service_running {
            let labels = ServiceLabels {
                node: name(),
                service: format!("ext-{extension}"),
            };
            self.running.get_or_create(&labels).set(i64::from(running));
        }
        if let Some(schematic) = &node.schematic_id {
            let labels = SchematicLabels {
                node: name(),
                schematic: schematic.clone(),
            };
            self.schematic.get_or_create(&labels).set(1);
        }
        let Some(device) = &node.device else {
            return;
        };
        let labels = DeviceLabels {
            node: name(),
            device: device.clone(),
        };
        if let Some(online) = node.device_online {
            self.online.get_or_create(&labels).set(i64::from(online));
        }
        if let Some(seen) = node.device_last_seen {
            self.last_seen.get_or_create(&labels).set(seen);
        }
        if let Some(expiry) = node.key_expiry {
            #[allow(clippy::cast_possible_truncation)] // whole seconds since 1970 fit an i64
            self.key_expiry
                .get_or_create(&labels)
                .set(expiry - now as i64);
        }
        let count = i64::try_from(node.advertised_routes.len()).unwrap_or(i64::MAX);
        self.advertised
            .get_or_create(&NodeLabel { node: name() })
            .set(count);
        for route in &node.advertised_routes {
            let labels = RouteLabels {
                node: name(),
                route: route.clone(),
            };
            let approved = !node.unapproved_routes.contains(route);
            self.approved
                .get_or_create(&labels)
                .set(i64::from(approved));
        }
    }

    /// The scrape body (OpenMetrics text, [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        encode(&self.registry)
    }
}

fn encode(registry: &Registry) -> String {
    let mut body = String::new();
    // Writing into a String cannot fail; an error here would be a bug in a metric's encoder.
    if let Err(error) = prometheus_client::encoding::text::encode(&mut body, registry) {
        tracing::error!(%error, "cannot encode metrics");
    }
    body
}

/// Rollout progress metrics, fed with the run's [`Event`]s.
///
/// | metric | labels | value |
/// |---|---|---|
/// | `talos_rollout_node_phase` | node, phase | 1 for the node's current phase |
/// | `talos_rollout_nodes_planned` | | nodes in the plan |
/// | `talos_rollout_nodes_done` | | nodes that reached `Done` |
/// | `talos_rollout_nodes_failed` | | nodes that ended `Halted` or `RolledBack` |
#[derive(Debug)]
pub struct RolloutMetrics {
    registry: Registry,
    phases: Mutex<BTreeMap<String, Phase>>,
    phase: GaugeFamily<PhaseLabels>,
    total: Gauge,
    done: Gauge,
    failed: Gauge,
}

impl Default for RolloutMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RolloutMetrics {
    /// No series until the plan arrives.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let phase = family(
            &mut registry,
            "node_phase",
            "The node's current rollout phase (1 for the current one)",
        );
        let (total, done, failed) = (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register("nodes_planned", "Nodes in the rollout plan", total.clone());
        registry.register(
            "nodes_done",
            "Nodes that finished the rollout",
            done.clone(),
        );
        registry.register(
            "nodes_failed",
            "Nodes that halted or were rolled back",
            failed.clone(),
        );
        Self {
            registry,
            phases: Mutex::new(BTreeMap::new()),
            phase,
            total,
            done,
            failed,
        }
    }

    /// `events`, unchanged, updating these metrics with each event as it passes (so a
    /// renderer and the metrics both see the whole stream).
    pub fn observing(self: Arc<Self>, events: EventStream) -> EventStream {
        Box::pin(events.inspect(move |event| self.observe(event)))
    }

    /// Updates the metrics with one event of the run.
    pub fn observe(&self, event: &Event) {
        match event {
            Event::Run(RunEvent::Plan(plan)) => self.start(plan),
            Event::Rollout(RolloutEvent::PhaseChanged { node, to, .. }) => {
                self.set_phase(node, *to)
            }
            _ => {}
        }
    }

    fn start(&self, plan: &Plan) {
        let mut phases = self
            .phases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        phases.clear();
        self.phase.clear();
        for node in &plan.nodes {
            phases.insert(node.node.clone(), Phase::Pending);
        }
        self.publish(&phases);
    }

    fn set_phase(&self, node: &str, phase: Phase) {
        let mut phases = self
            .phases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(previous) = phases.insert(node.to_owned(), phase) {
            self.phase.remove(&PhaseLabels {
                node: node.to_owned(),
                phase: previous.to_string(),
            });
        }
        self.publish(&phases);
    }

    fn publish(&self, phases: &BTreeMap<String, Phase>) {
        let count = |matches: fn(Phase) -> bool| {
            i64::try_from(phases.values().filter(|phase| matches(**phase)).count())
                .unwrap_or(i64::MAX)
        };
        for (node, phase) in phases {
            let labels = PhaseLabels {
                node: node.clone(),
                phase: phase.to_string(),
            };
            self.phase.get_or_create(&labels).set(1);
        }
        self.total
            .set(i64::try_from(phases.len()).unwrap_or(i64::MAX));
        self.done.set(count(|phase| phase == Phase::Done));
        self.failed.set(count(|phase| {
            matches!(phase, Phase::Halted | Phase::RolledBack)
        }));
    }

    /// The scrape body (OpenMetrics text, [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let _phases = self
            .phases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        encode(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;

    fn parse(body: &str) -> Vec<prometheus_parse::Sample> {
        let lines = body.lines().map(|line| Ok(line.to_owned()));
        prometheus_parse::Scrape::parse(lines).unwrap().samples
    }

    fn value(
        samples: &[prometheus_parse::Sample],
        metric: &str,
        labels: &[(&str, &str)],
    ) -> Option<f64> {
        samples
            .iter()
            .find(|sample| {
                sample.metric == metric
                    && labels
                        .iter()
                        .all(|(key, value)| sample.labels.get(key) == Some(*value))
            })
            .map(|sample| match sample.value {
                prometheus_parse::Value::Gauge(value) | prometheus_parse::Value::Untyped(value) => {
                    value
                }
                _ => f64::NAN,
            })
    }

    fn node(name: &str) -> NodeHealth {
        NodeHealth {
            node: name.to_owned(),
            hostname: Some(name.to_owned()),
            schematic_id: Some("abc123".to_owned()),
            health: Health::Unhealthy,
            extension_installed: Some(true),
            service_state: Some("Running".to_owned()),
            service_running: Some(true),
            device: Some(format!("{name}.tail.ts.net")),
            device_online: Some(false),
            advertised_routes: vec!["10.43.0.0/16".to_owned(), "10.44.0.0/16".to_owned()],
            unapproved_routes: vec!["10.44.0.0/16".to_owned()],
            device_last_seen: Some(1_000),
            key_expiry: Some(1_000 + 3 * 86_400),
            problems: vec![],
            not_checked: vec![],
            connectivity: vec![],
        }
    }

    #[test]
    fn a_round_becomes_per_node_series() {
        let metrics = HealthMetrics::new();
        let round = HealthRound {
            extension: "tailscale".to_owned(),
            health: Health::Unhealthy,
            nodes: vec![node("k8s-1")],
        };
        metrics.observe(&round, UNIX_EPOCH + Duration::from_secs(1_000));
        let samples = parse(&metrics.encode());
        let n = [("node", "k8s-1")];
        assert_eq!(
            value(
                &samples,
                "talos_rollout_node_health",
                &[("node", "k8s-1"), ("health", "unhealthy")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "talos_rollout_node_health",
                &[("node", "k8s-1"), ("health", "healthy")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &samples,
                "talos_rollout_extension_installed",
                &[("extension", "tailscale")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "talos_rollout_extension_service_running",
                &[("service", "ext-tailscale")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "talos_rollout_schematic_info",
                &[("schematic", "abc123")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&samples, "talos_rollout_tailscale_device_online", &n),
            Some(0.0)
        );
        assert_eq!(
            value(&samples, "talos_rollout_tailscale_key_expiry_seconds", &n),
            Some(3.0 * 86_400.0)
        );
        assert_eq!(
            value(
                &samples,
                "talos_rollout_tailscale_device_last_seen_timestamp_seconds",
                &n
            ),
            Some(1_000.0)
        );
        assert_eq!(
            value(&samples, "talos_rollout_tailscale_routes_advertised", &n),
            Some(2.0)
        );
        assert_eq!(
            value(
                &samples,
                "talos_rollout_tailscale_route_approved",
                &[("route", "10.43.0.0/16")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "talos_rollout_tailscale_route_approved",
                &[("route", "10.44.0.0/16")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &samples,
                "talos_rollout_health_check_timestamp_seconds",
                &[]
            ),
            Some(1_000.0)
        );
    }

    #[test]
    fn values_not_read_in_the_next_round_lose_their_series() {
        let metrics = HealthMetrics::new();
        let mut round = HealthRound {
            extension: "tailscale".to_owned(),
            health: Health::Unhealthy,
            nodes: vec![node("k8s-1")],
        };
        metrics.observe(&round, UNIX_EPOCH);
        round.nodes[0].device = None;
        metrics.observe(&round, UNIX_EPOCH);
        let samples = parse(&metrics.encode());
        assert_eq!(
            value(&samples, "talos_rollout_tailscale_device_online", &[]),
            None
        );
        assert_eq!(
            value(&samples, "talos_rollout_extension_installed", &[]),
            Some(1.0)
        );
    }

    #[test]
    fn rollout_progress_follows_the_phases() {
        let metrics = RolloutMetrics::new();
        let change = |node: &str, from: Phase, to: Phase| {
            metrics.observe(&Event::Rollout(RolloutEvent::PhaseChanged {
                node: node.to_owned(),
                from,
                to,
            }));
        };
        change("k8s-1", Phase::Pending, Phase::Precheck);
        change("k8s-1", Phase::Precheck, Phase::Done);
        change("k8s-2", Phase::Pending, Phase::Halted);
        change("k8s-3", Phase::Pending, Phase::Precheck);
        let samples = parse(&metrics.encode());
        let phase = |node: &str, phase: Phase| {
            value(
                &samples,
                "talos_rollout_node_phase",
                &[("node", node), ("phase", &phase.to_string())],
            )
        };
        assert_eq!(phase("k8s-1", Phase::Done), Some(1.0));
        assert_eq!(
            phase("k8s-1", Phase::Precheck),
            None,
            "the old phase's series is gone"
        );
        assert_eq!(phase("k8s-3", Phase::Precheck), Some(1.0));
        assert_eq!(
            value(&samples, "talos_rollout_nodes_planned", &[]),
            Some(3.0)
        );
        assert_eq!(value(&samples, "talos_rollout_nodes_done", &[]), Some(1.0));
        assert_eq!(
            value(&samples, "talos_rollout_nodes_failed", &[]),
            Some(1.0)
        );
    }
}
