//! In-memory ports that behave like the real system on tokio's (paused) clock: a reboot makes
//! the node unreachable for a while and gives it a new boot ID; the new image only runs after
//! the reboot (A/B, `Rollback` swaps back); installers pull only after the schematic was
//! registered with the factory; tailnet devices appear some time after the node is back, and
//! only with a valid key; routes need approval. Schematic IDs are the Image Factory's own
//! (computed offline by [`FactoryResolver`]). An extension service's log shows the environment
//! it started with (as a careless service would), so diagnoses must redact it.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rollout_core::gate::{
    ClusterObservation, EtcdMemberObservation, NodeObservation, ServiceObservation,
};
use rollout_core::machine::{BootProbe, LiveNode};
use rollout_core::plan::{SchematicRequest, SchematicResolver};
use rollout_core::{
    ClusterFacts, ExtensionServiceConfig, NodeFacts, NodeRole, PortError, PortErrorKind,
};
use secrecy::{ExposeSecret, SecretSlice};
use talos_rollout::adapters::FactoryResolver;
use talos_rollout::ports::{
    Clock, ConfigChange, FactoryPort, InstallOutcome, TalosPort, TokioClock,
};
use talos_rollout::profiles::tailscale::{DeviceObservation, TailnetPort};

pub const DOWN_FOR: Duration = Duration::from_secs(40);
pub const DEVICE_DELAY: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub version: String,
    pub schematic_id: Option<String>,
}

#[derive(Debug, Clone)]
struct Config {
    install_image: Option<String>,
    escs: BTreeMap<String, ExtensionServiceConfig>,
}

#[derive(Debug)]
pub struct FakeNode {
    pub nodename: String,
    pub role: NodeRole,
    pub leader: bool,
    pub running: Image,
    pub previous: Option<Image>,
    pub staged: Option<Image>,
    config: Config,
    pub boot_seq: u32,
    pub down_until: Option<Instant>,
    pub installs: u32,
    pub reboots: u32,
}

#[derive(Debug)]
struct Device {
    /// When the device first appeared in the tailnet.
    registered_at: Instant,
    /// When it is (next) connected.
    online_at: Instant,
    advertised: Vec<String>,
    enabled: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct State {
    nodes: BTreeMap<String, FakeNode>,
    /// schematic ID → official extensions.
    schematics: BTreeMap<String, Vec<String>>,
    registered: BTreeSet<String>,
    devices: BTreeMap<String, Device>,
    /// Exact config bytes handed out → the config they encode.
    rendered: BTreeMap<Vec<u8>, Config>,
    valid_keys: BTreeSet<String>,
}

/// The whole fake world; clone it into each port slot.
#[derive(Clone, Default)]
pub struct FakeCluster {
    state: Arc<Mutex<State>>,
}

fn now() -> Instant {
    TokioClock.now()
}

fn unavailable(operation: &str) -> PortError {
    PortError::new(
        "talos",
        operation,
        PortErrorKind::Unavailable,
        "connection refused; the node may be rebooting",
    )
}

fn esc_digests(fake: &FakeNode) -> BTreeMap<String, rollout_core::EscDigest> {
    fake.config
        .escs
        .iter()
        .map(|(k, v)| (k.clone(), rollout_core::esc::digest(v)))
        .collect()
}

fn short(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_owned()
}

impl FakeCluster {
    /// A cluster from planning facts; the current schematics are known to the factory.
    pub fn from_facts(facts: &ClusterFacts, valid_key: &str) -> Self {
        let cluster = FakeCluster::default();
        {
            let mut state = cluster.state.lock().unwrap();
            state.valid_keys.insert(valid_key.to_owned());
            for fact in &facts.nodes {
                if let (Some(id), Some(extensions)) =
                    (&fact.schematic_id, &fact.schematic_extensions)
                {
                    state.schematics.insert(id.clone(), extensions.clone());
                    state.registered.insert(id.clone());
                }
                let node = FakeNode {
                    nodename: fact.nodename.clone(),
                    role: fact.role,
                    leader: fact.etcd_leader,
                    running: Image {
                        version: fact.version.clone(),
                        schematic_id: fact.schematic_id.clone(),
                    },
                    previous: None,
                    staged: None,
                    config: Config {
                        install_image: fact.install_image.clone(),
                        escs: BTreeMap::new(),
                    },
                    boot_seq: 0,
                    down_until: None,
                    installs: 0,
                    reboots: 0,
                };
                state.nodes.insert(fact.node.clone(), node);
            }
        }
        cluster
    }

    pub fn with_node<T>(&self, node: &str, f: impl FnOnce(&mut FakeNode) -> T) -> T {
        f(self.state.lock().unwrap().nodes.get_mut(node).unwrap())
    }

    pub fn install_image(&self, node: &str) -> Option<String> {
        self.with_node(node, |n| n.config.install_image.clone())
    }

    pub fn esc_names(&self, node: &str) -> Vec<String> {
        self.with_node(node, |n| n.config.escs.keys().cloned().collect())
    }

    pub fn enabled_routes(&self, hostname: &str) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .devices
            .get(hostname)
            .map(|d| d.enabled.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn check_up(state: &State, node: &str, operation: &str) -> Result<(), PortError> {
        let fake = state.nodes.get(node).ok_or_else(|| {
            PortError::new(
                "talos",
                operation,
                PortErrorKind::NotFound,
                format!("node {node} is not in the cluster"),
            )
        })?;
        match fake.down_until {
            Some(until) if now() < until => Err(unavailable(operation)),
            _ => Ok(()),
        }
    }

    fn extensions(state: &State, image: &Image) -> Vec<String> {
        image
            .schematic_id
            .as_ref()
            .and_then(|id| state.schematics.get(id))
            .cloned()
            .unwrap_or_default()
    }

    fn render(state: &mut State, config: &Config) -> Vec<u8> {
        let mut text = format!(
            "version: v1alpha1\nmachine:\n  install:\n    image: {}\n",
            config.install_image.as_deref().unwrap_or("none")
        );
        for esc in config.escs.values() {
            text.push_str(&format!(
                "---\nkind: ExtensionServiceConfig\nname: {}\n",
                esc.name
            ));
            for entry in &esc.environment {
                text.push_str(&format!("  - {entry}\n"));
            }
        }
        let bytes = text.into_bytes();
        state.rendered.insert(bytes.clone(), config.clone());
        bytes
    }

    /// Schedules the node's tailnet device when it runs tailscale with a valid key in its config.
    fn schedule_device(state: &mut State, node: &str, at: Instant) {
        let fake = &state.nodes[node];
        let runs_tailscale = Self::extensions(state, &fake.running)
            .iter()
            .any(|e| short(e) == "tailscale");
        let Some(esc) = fake.config.escs.get("tailscale") else {
            return;
        };
        let key_ok = esc
            .env_value("TS_AUTHKEY")
            .is_some_and(|key| state.valid_keys.contains(key));
        if !runs_tailscale || !key_ok {
            return;
        }
        let hostname = esc
            .env_value("TS_HOSTNAME")
            .unwrap_or(&fake.nodename)
            .to_owned();
        let advertised: Vec<String> = esc
            .env_value("TS_ROUTES")
            .map(|r| r.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let previous = state.devices.get(&hostname);
        let enabled = previous.map(|d| d.enabled.clone()).unwrap_or_default();
        let registered_at = previous.map_or(at, |d| d.registered_at.min(at));
        state.devices.insert(
            hostname,
            Device {
                registered_at,
                online_at: at,
                advertised,
                enabled,
            },
        );
    }

    fn reboot_now(state: &mut State, node: &str) {
        let until = now() + DOWN_FOR;
        let fake = state.nodes.get_mut(node).unwrap();
        fake.boot_seq += 1;
        fake.reboots += 1;
        fake.down_until = Some(until);
        if let Some(staged) = fake.staged.take() {
            let old = std::mem::replace(&mut fake.running, staged);
            fake.previous = Some(old);
        }
        let hostname = fake
            .config
            .escs
            .get("tailscale")
            .and_then(|e| e.env_value("TS_HOSTNAME").map(str::to_owned));
        if let Some(device) = hostname.and_then(|h| state.devices.get_mut(&h)) {
            // Offline until the node is back and tailscaled reconnects (or forever if it cannot).
            device.online_at = until + Duration::from_secs(365 * 24 * 3600);
        }
        Self::schedule_device(state, node, until + DEVICE_DELAY);
    }
}

#[async_trait]
impl TalosPort for FakeCluster {
    async fn node_facts(&self, node: &str) -> Result<NodeFacts, PortError> {
        let state = self.state.lock().unwrap();
        Self::check_up(&state, node, "read facts")?;
        let fake = &state.nodes[node];
        let extensions = Self::extensions(&state, &fake.running);
        Ok(NodeFacts {
            node: node.to_owned(),
            nodename: fake.nodename.clone(),
            role: fake.role,
            etcd_leader: fake.leader,
            version: fake.running.version.clone(),
            schematic_id: fake.running.schematic_id.clone(),
            extensions: extensions.iter().map(|e| short(e)).collect(),
            schematic_extensions: Some(extensions),
            schematic_yaml: None,
            install_image: fake.config.install_image.clone(),
            extension_service_configs: esc_digests(fake),
            boot_id: Some(format!("boot-{}", fake.boot_seq)),
        })
    }

    async fn inspect(&self, node: &str) -> Result<LiveNode, PortError> {
        let state = self.state.lock().unwrap();
        Self::check_up(&state, node, "inspect")?;
        let fake = &state.nodes[node];
        Ok(LiveNode {
            boot_id: Some(format!("boot-{}", fake.boot_seq)),
            version: fake.running.version.clone(),
            schematic_id: fake.running.schematic_id.clone(),
            install_image: fake.config.install_image.clone(),
            extension_service_configs: esc_digests(fake),
        })
    }

    async fn observe(&self, node: &str) -> Result<NodeObservation, PortError> {
        let state = self.state.lock().unwrap();
        Self::check_up(&state, node, "observe")?;
        let fake = &state.nodes[node];
        let extensions: Vec<String> = Self::extensions(&state, &fake.running)
            .iter()
            .map(|e| short(e))
            .collect();
        let mut services = BTreeMap::new();
        for name in fake.config.escs.keys() {
            if extensions.contains(name) {
                services.insert(
                    format!("ext-{name}"),
                    ServiceObservation {
                        running: true,
                        healthy: true,
                    },
                );
            }
        }
        Ok(NodeObservation {
            version: fake.running.version.clone(),
            schematic_id: fake.running.schematic_id.clone(),
            extensions,
            esc_configured: fake
                .config
                .escs
                .iter()
                .map(|(k, v)| (k.clone(), rollout_core::esc::digest(v)))
                .collect(),
            esc_applied: fake.config.escs.keys().cloned().collect(),
            services,
            ip_forward: Some(true),
            machine_ready: true,
            kubernetes_ready: Some(true),
        })
    }

    async fn cluster_health(&self, via: &str) -> Result<ClusterObservation, PortError> {
        let state = self.state.lock().unwrap();
        Self::check_up(&state, via, "health check")?;
        let members = state
            .nodes
            .iter()
            .filter(|(_, n)| n.role == NodeRole::ControlPlane)
            .map(|(name, n)| EtcdMemberObservation {
                name: name.clone(),
                healthy: n.down_until.is_none_or(|until| now() >= until),
            })
            .collect();
        Ok(ClusterObservation {
            health: Ok(()),
            etcd_members: members,
        })
    }

    async fn read_machine_config(&self, node: &str) -> Result<SecretSlice<u8>, PortError> {
        let mut state = self.state.lock().unwrap();
        Self::check_up(&state, node, "read machine config")?;
        let config = state.nodes[node].config.clone();
        Ok(SecretSlice::from(Self::render(&mut state, &config)))
    }

    async fn apply_config_change(
        &self,
        node: &str,
        change: &ConfigChange,
    ) -> Result<(), PortError> {
        let mut state = self.state.lock().unwrap();
        Self::check_up(&state, node, "apply config")?;
        let fake = state.nodes.get_mut(node).unwrap();
        if let Some(image) = &change.install_image {
            fake.config.install_image = Some(image.clone());
        }
        if let Some(esc) = &change.extension_service_config {
            fake.config.escs.insert(esc.name.clone(), esc.clone());
        }
        let config = fake.config.clone();
        Self::render(&mut state, &config);
        Self::schedule_device(&mut state, node, now() + DEVICE_DELAY);
        Ok(())
    }

    async fn apply_machine_config(
        &self,
        node: &str,
        config: &SecretSlice<u8>,
    ) -> Result<(), PortError> {
        let mut state = self.state.lock().unwrap();
        Self::check_up(&state, node, "apply config")?;
        let decoded = state
            .rendered
            .get(config.expose_secret())
            .cloned()
            .ok_or_else(|| {
                PortError::new(
                    "talos",
                    "apply config",
                    PortErrorKind::Rejected,
                    "the configuration could not be parsed",
                )
            })?;
        state.nodes.get_mut(node).unwrap().config = decoded;
        Ok(())
    }

    async fn install(&self, node: &str, image: &str) -> Result<InstallOutcome, PortError> {
        let mut state = self.state.lock().unwrap();
        Self::check_up(&state, node, "install")?;
        let (repository, version) = image.rsplit_once(':').unwrap();
        let id = repository.rsplit('/').next().unwrap().to_owned();
        if !state.registered.contains(&id) {
            return Err(PortError::new(
                "talos",
                "install",
                PortErrorKind::Rejected,
                format!("pulling {image}: 404 schematic ID {id:?} not found"),
            ));
        }
        let fake = state.nodes.get_mut(node).unwrap();
        fake.installs += 1;
        fake.staged = Some(Image {
            version: version.to_owned(),
            schematic_id: Some(id),
        });
        Ok(InstallOutcome {
            reboot_started: false,
        })
    }

    async fn reboot(&self, node: &str) -> Result<(), PortError> {
        let mut state = self.state.lock().unwrap();
        Self::check_up(&state, node, "reboot")?;
        Self::reboot_now(&mut state, node);
        Ok(())
    }

    async fn rollback(&self, node: &str) -> Result<(), PortError> {
        let mut state = self.state.lock().unwrap();
        Self::check_up(&state, node, "rollback")?;
        let fake = state.nodes.get_mut(node).unwrap();
        fake.staged = fake.previous.clone();
        Self::reboot_now(&mut state, node);
        Ok(())
    }

    async fn probe_boot(&self, node: &str) -> Result<BootProbe, PortError> {
        let state = self.state.lock().unwrap();
        Self::check_up(&state, node, "read boot id")?;
        Ok(BootProbe::Up {
            boot_id: format!("boot-{}", state.nodes[node].boot_seq),
            ready: true,
        })
    }

    async fn service_log_tail(
        &self,
        node: &str,
        service: &str,
        lines: usize,
    ) -> Result<Vec<String>, PortError> {
        let state = self.state.lock().unwrap();
        Self::check_up(&state, node, "logs")?;
        let fake = &state.nodes[node];
        let name = service.strip_prefix("ext-").unwrap_or(service);
        let Some(esc) = fake.config.escs.get(name) else {
            return Ok(vec![]);
        };
        let mut log = vec![format!(
            "{service}: starting with {}",
            esc.environment.join(" ")
        )];
        if name == "tailscale" {
            let key = esc.env_value("TS_AUTHKEY").unwrap_or_default();
            log.push(format!(
                "{service}: boot: running tailscale up --authkey={key}"
            ));
            if !state.valid_keys.contains(key) {
                log.push("backend error: invalid key: API key does not exist".to_owned());
            }
        }
        log.truncate(lines);
        Ok(log)
    }
}

#[async_trait]
impl FactoryPort for FakeCluster {
    async fn ensure_schematic(&self, yaml: &str) -> Result<String, PortError> {
        let resolved = FactoryResolver
            .resolve(&SchematicRequest::Replace { yaml })
            .unwrap();
        let mut state = self.state.lock().unwrap();
        state
            .schematics
            .insert(resolved.id.clone(), resolved.extensions);
        state.registered.insert(resolved.id.clone());
        Ok(resolved.id)
    }
}

#[async_trait]
impl TailnetPort for FakeCluster {
    async fn device(&self, hostname: &str) -> Result<Option<DeviceObservation>, PortError> {
        let state = self.state.lock().unwrap();
        let device = state
            .devices
            .get(hostname)
            .filter(|device| now() >= device.registered_at);
        Ok(device.map(|device| DeviceObservation {
            hostname: hostname.to_owned(),
            online: now() >= device.online_at,
            advertised_routes: device.advertised.clone(),
            enabled_routes: device.enabled.iter().cloned().collect(),
        }))
    }

    async fn approve_routes(&self, hostname: &str, routes: &[String]) -> Result<(), PortError> {
        let mut state = self.state.lock().unwrap();
        let device = state.devices.get_mut(hostname).ok_or_else(|| {
            PortError::new(
                "tailnet",
                "approve routes",
                PortErrorKind::NotFound,
                format!("no device named {hostname}"),
            )
        })?;
        device.enabled.extend(routes.iter().cloned());
        Ok(())
    }
}
