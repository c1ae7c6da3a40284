//! The simulated cluster: its nodes, what they share (factory, tailnet, faults, clock,
//! timings), and the read-only views embedders and tests inspect.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use factory_client::{InstallerRef, Schematic};
use talos_client::machine_config::ExtensionServiceConfig;
use talos_client::proto::machine::machine_status_event::MachineStage;

use super::advance_log::AdvanceLog;
use super::boot::Boot;
use super::call_log::{CallLog, ReceivedCall};
use super::config::{ClusterSettings, initial_config, stored_escs};
use super::events::EventLog;
use super::lifecycle;
use super::node::{BootEntry, EscRecord, Node, NodeState};
use super::resources::ResourceVersions;
use super::services::ServiceTable;
use super::spec::NodeSpec;
use crate::clock::SimClock;
use crate::factory::{ImageFactory, InstalledExtension};
use crate::mtls::ConnectionControl;
use crate::tailnet::Tailnet;
use crate::{Error, Faults};

/// How long the phases of a reboot take (tokio time, so paused tests skip them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// From the reboot request until the node stops answering.
    pub shutdown: Duration,
    /// How long the node is down (answers `Unavailable`).
    pub reboot: Duration,
    /// From coming back until the machine is running and ready.
    pub boot: Duration,
    /// How long the legacy `Upgrade` keeps the node up and busy before it goes down: the
    /// installer runs, the machine stage is `upgrading` (not ready), and a second upgrade
    /// or a reboot is refused with "sequence ... is already running", as on real nodes
    /// (where it takes minutes).
    pub install: Duration,
    /// How long a failed extension service waits before it is restarted.
    pub service_restart: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            shutdown: Duration::from_millis(500),
            reboot: Duration::from_secs(5),
            boot: Duration::from_secs(1),
            install: Duration::ZERO,
            service_restart: Duration::from_secs(5),
        }
    }
}

/// What every node shares.
#[derive(Debug)]
pub(crate) struct ClusterContext {
    pub(crate) factory: ImageFactory,
    pub(crate) tailnet: Tailnet,
    pub(crate) faults: Faults,
    pub(crate) clock: SimClock,
    pub(crate) timings: Timings,
    /// The most a reboot may take longer than `timings.reboot` (per node and boot, spread
    /// evenly and reproducibly: the same node's same reboot always gets the same extra).
    pub(crate) reboot_jitter: Duration,
    /// Every apid endpoint's connections, by endpoint index (set once when serving).
    pub(crate) connections: OnceLock<Vec<ConnectionControl>>,
    /// The Kubernetes API fake's URL and CA (set once when serving).
    pub(crate) kube_access: OnceLock<super::kubeconfig::KubeAccess>,
    pub(crate) calls: CallLog,
    pub(crate) advances: AdvanceLog,
}

impl ClusterContext {
    /// How much longer than `timings.reboot` the reboot that ends boot number `boots` of
    /// `host` takes: in `[0, reboot_jitter]`, a fixed function of both.
    pub(crate) fn reboot_jitter_of(&self, host: &str, boots: u32) -> Duration {
        spread(self.reboot_jitter, host, boots)
    }

    /// The extensions a node runs after booting `entry` (a fault may drop one).
    pub(crate) fn extensions_of(&self, host: &str, entry: &BootEntry) -> Vec<InstalledExtension> {
        let Some(schematic) = entry.schematic else {
            return Vec::new();
        };
        let mut extensions = self
            .factory
            .image_extensions(&schematic, &entry.version)
            .unwrap_or_else(|error| {
                tracing::warn!(%error, node = host, "sim node booted an image the factory cannot build");
                Vec::new()
            });
        if let Some(missing) = self.faults.missing_extension(host) {
            extensions.retain(|e| e.official_name != missing && e.name != missing);
        }
        extensions
    }

    /// Makes `bytes` the node's configuration; returns the ESC names whose content changed.
    pub(crate) fn load_config(&self, state: &mut NodeState, bytes: Vec<u8>) -> Vec<String> {
        let escs = stored_escs(&bytes);
        self.load_parsed_config(state, bytes, escs)
    }

    /// As [`ClusterContext::load_config`], with the configuration's ESCs already parsed.
    pub(crate) fn load_parsed_config(
        &self,
        state: &mut NodeState,
        bytes: Vec<u8>,
        escs: Vec<ExtensionServiceConfig>,
    ) -> Vec<String> {
        let mut changed = Vec::new();
        let mut records = BTreeMap::new();
        for esc in escs {
            let version = match state.escs.get(&esc.name) {
                Some(old) if old.config == esc => old.version,
                Some(old) => {
                    changed.push(esc.name.clone());
                    old.version + 1
                }
                None => {
                    changed.push(esc.name.clone());
                    1
                }
            };
            records.insert(
                esc.name.clone(),
                EscRecord {
                    config: esc,
                    version,
                },
            );
        }
        changed.extend(
            state
                .escs
                .keys()
                .filter(|name| !records.contains_key(*name))
                .cloned(),
        );
        state.escs = records;
        state.config = bytes;
        changed
    }
}

/// A point-in-time view of a node, for tests and embedders.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeSnapshot {
    /// Hostname.
    pub hostname: String,
    /// Whether the node answers (false while rebooting or after a never-return fault).
    pub up: bool,
    /// Whether the machine is running and ready.
    pub ready: bool,
    /// The current boot ID.
    pub boot_id: String,
    /// The running Talos version.
    pub version: String,
    /// The installer image the node booted.
    pub image: String,
    /// The schematic of that image, if it came from the factory.
    pub schematic_id: Option<String>,
    /// How many times the node has booted (1 when the sim starts).
    pub boots: u32,
    /// Manifest names of the installed extensions (the `schematic` pseudo-extension included).
    pub extensions: Vec<String>,
    /// Service id → state (`Running`, `Waiting`, …).
    pub services: BTreeMap<String, String>,
    /// The tailnet device the node's tailscaled is logged in as.
    pub tailscale_device: Option<String>,
    /// The machine configuration bytes.
    pub config: Vec<u8>,
}

/// Whether a node is up and how often it has booted: the part of a [`NodeSnapshot`] that
/// costs no copy of the node's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeBoots {
    /// Hostname.
    pub hostname: String,
    /// Whether the node answers (false while rebooting or after a never-return fault).
    pub up: bool,
    /// How many times the node has booted (1 when the sim starts).
    pub boots: u32,
}

/// The simulated Talos nodes behind one apid-like endpoint.
#[derive(Debug, Clone)]
pub struct TalosCluster {
    pub(crate) ctx: Arc<ClusterContext>,
    pub(crate) nodes: Arc<Vec<Arc<Node>>>,
    /// Hostname and address text → index into `nodes` (routing is one lookup at any size).
    by_name: Arc<HashMap<String, usize>>,
}

impl TalosCluster {
    /// Creates the nodes, each installed from a factory image of its version and extensions.
    pub(crate) fn new(
        specs: Vec<NodeSpec>,
        ctx: ClusterContext,
        settings: &ClusterSettings,
        installer_host: &str,
    ) -> Result<Self, Error> {
        validate(&specs)?;
        let ctx = Arc::new(ctx);
        let mut nodes = Vec::new();
        for spec in specs {
            let state = initial_state(&ctx, &spec, settings, installer_host)?;
            nodes.push(Arc::new(Node::new(spec, state)));
        }
        let by_name = nodes
            .iter()
            .enumerate()
            .flat_map(|(index, node)| {
                [
                    (node.spec.hostname.clone(), index),
                    (node.spec.address.to_string(), index),
                ]
            })
            .collect();
        let cluster = Self {
            ctx,
            nodes: Arc::new(nodes),
            by_name: Arc::new(by_name),
        };
        for node in cluster.nodes.iter() {
            node.update(|state| lifecycle::boot_services(&cluster.ctx, &node.spec, state));
            lifecycle::finish_boot(&cluster.ctx, node);
        }
        Ok(cluster)
    }

    /// The hostnames, in order.
    pub fn hostnames(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.spec.hostname.clone()).collect()
    }

    /// The node specs, in order.
    pub fn specs(&self) -> Vec<NodeSpec> {
        self.nodes.iter().map(|n| n.spec.clone()).collect()
    }

    /// Every node's [`NodeBoots`], in order: cheap enough to sample every few milliseconds
    /// at the largest size (a [`NodeSnapshot`] copies the machine configuration).
    pub fn boots(&self) -> Vec<NodeBoots> {
        self.nodes
            .iter()
            .map(|node| {
                let (up, boots) = node.read(|state| (state.up, state.boots));
                NodeBoots {
                    hostname: node.spec.hostname.clone(),
                    up,
                    boots,
                }
            })
            .collect()
    }

    /// A snapshot of the node named `target` (hostname or address).
    pub fn snapshot(&self, target: &str) -> Option<NodeSnapshot> {
        let node = self.find(target)?;
        Some(node.read(|state| {
            NodeSnapshot {
                hostname: node.spec.hostname.clone(),
                up: state.up,
                ready: state.up && state.ready && state.stage == MachineStage::Running,
                boot_id: state.boot_id.clone(),
                boots: state.boots,
                version: state.installed.version.clone(),
                image: state.installed.image.clone(),
                schematic_id: state.installed.schematic.map(|id| id.to_string()),
                extensions: state.extensions.iter().map(|e| e.name.clone()).collect(),
                services: state
                    .services
                    .iter()
                    .map(|(id, s)| (id.clone(), s.state.as_str().to_owned()))
                    .collect(),
                tailscale_device: state.tailscale_device.clone(),
                config: state.config.clone(),
            }
        }))
    }

    /// The log of `service` (e.g. `ext-tailscale`) on the node, as text.
    pub fn service_log(&self, target: &str, service: &str) -> Option<String> {
        let node = self.find(target)?;
        node.read(|state| {
            state
                .logs
                .get(service)
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        })
    }

    /// Every call apid received so far, oldest first (at most the last 10 000).
    pub fn received_calls(&self) -> Vec<ReceivedCall> {
        self.ctx.calls.snapshot()
    }

    /// For every reboot so far (the sim's start excluded): the time from the node reporting
    /// running + ready to the next call apid routed to it, in the order the calls arrived
    /// (at most the first 100 000). A node still waiting for its next call is not included.
    pub fn advance_delays(&self) -> Vec<Duration> {
        self.ctx.advances.delays()
    }

    pub(crate) fn find(&self, target: &str) -> Option<Arc<Node>> {
        self.nodes.get(self.index_of(target)?).cloned()
    }

    /// The position of the node named `target` (hostname or address) in `nodes`.
    pub(crate) fn index_of(&self, target: &str) -> Option<usize> {
        self.by_name.get(target).copied()
    }

    /// The node that answers calls without `node` metadata (the endpoint's own node).
    pub(crate) fn endpoint_node(&self) -> Option<Arc<Node>> {
        self.nodes
            .iter()
            .find(|n| n.spec.is_control_plane())
            .or_else(|| self.nodes.first())
            .cloned()
    }

    pub(crate) fn control_planes(&self) -> impl Iterator<Item = &Arc<Node>> {
        self.nodes.iter().filter(|n| n.spec.is_control_plane())
    }
}

/// A duration in `[0, span]` (whole milliseconds) that depends only on `host` and `boots`.
fn spread(span: Duration, host: &str, boots: u32) -> Duration {
    let span = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
    if span == 0 {
        return Duration::ZERO;
    }
    let mut hasher = DefaultHasher::new();
    (host, boots).hash(&mut hasher);
    Duration::from_millis(hasher.finish() % span.saturating_add(1))
}

fn validate(specs: &[NodeSpec]) -> Result<(), Error> {
    if !specs.iter().any(NodeSpec::is_control_plane) {
        return Err(Error::InvalidSetup(
            "the cluster needs at least one control-plane node".to_owned(),
        ));
    }
    let mut hostnames = HashSet::new();
    let mut addresses = HashSet::new();
    for spec in specs {
        let clash = !hostnames.insert(&spec.hostname) | !addresses.insert(spec.address);
        if clash {
            return Err(Error::InvalidSetup(format!(
                "node {} reuses a hostname or address; every node needs its own",
                spec.hostname
            )));
        }
    }
    Ok(())
}

fn initial_state(
    ctx: &ClusterContext,
    spec: &NodeSpec,
    settings: &ClusterSettings,
    installer_host: &str,
) -> Result<NodeState, Error> {
    let schematic = Schematic::builder()
        .extensions(spec.extensions.iter().cloned())
        .build();
    let schematic_id = ctx.factory.add_schematic(schematic);
    let image = InstallerRef::for_platform(
        installer_host,
        "metal",
        &schematic_id,
        &spec.talos_version,
        false,
    )
    .map_err(|e| Error::InvalidSetup(format!("node {}: {e}", spec.hostname)))?
    .to_string();
    let installed = BootEntry {
        version: spec.talos_version.clone(),
        image: image.clone(),
        schematic: Some(schematic_id),
    };
    let extensions = ctx
        .factory
        .image_extensions(&schematic_id, &spec.talos_version)
        .map_err(|e| Error::InvalidSetup(format!("node {}: {e}", spec.hostname)))?;
    let mut state = NodeState {
        up: true,
        boot: Boot::default(),
        boots: 1,
        stage: MachineStage::Booting,
        ready: false,
        boot_id: uuid::Uuid::new_v4().to_string(),
        stale_boot_id: None,
        installed,
        next_boot: None,
        previous_boot: None,
        extensions,
        config: Vec::new(),
        staged_config: None,
        escs: BTreeMap::new(),
        services: ServiceTable::default(),
        logs: BTreeMap::new(),
        events: EventLog::new(),
        tailscale_device: None,
        pulled_images: Default::default(),
        sequence: None,
        crash_loop_active: false,
        resource_versions: ResourceVersions::default(),
    };
    ctx.load_config(&mut state, initial_config(spec, &image, settings));
    Ok(state)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn reboot_jitter_stays_within_its_span_and_repeats_for_the_same_reboot() {
        let span = Duration::from_secs(2);
        let hosts: Vec<String> = (1..=100).map(|n| format!("k8s-{n}")).collect();
        let extras: Vec<Duration> = hosts.iter().map(|h| spread(span, h, 1)).collect();
        assert!(extras.iter().all(|extra| *extra <= span));
        let repeated: Vec<Duration> = hosts.iter().map(|h| spread(span, h, 1)).collect();
        assert_eq!(extras, repeated);
        let distinct: BTreeSet<Duration> = extras.into_iter().collect();
        assert!(
            distinct.len() > 50,
            "only {} distinct extras",
            distinct.len()
        );
        assert_ne!(spread(span, "k8s-1", 1), spread(span, "k8s-1", 2));
    }

    #[test]
    fn no_jitter_means_no_extra_time() {
        assert_eq!(spread(Duration::ZERO, "k8s-1", 1), Duration::ZERO);
    }
}
