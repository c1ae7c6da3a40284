//! Adapter over `talos-client`: the [`TalosPort`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use sdk_support::backoff::Backoff;
use secrecy::{ExposeSecret, SecretSlice};
use talos_client::machine::{
    ApplyMode, ClusterNodes, EventFeed, EventsTail, FeedItem, MachineStage, RebootMode,
    ServiceStatus,
};
use talos_client::machine_config::ConfigDocuments;
use talos_client::resources::{
    ExtensionServiceConfigStatus, ExtensionStatus, KernelParamStatus, NodeStatus, Resource,
};
use talos_client::upgrade::{UpgradeOptions, UpgradePath};
use talos_client::{NodeClient, TalosClient};

use rollout_core::esc::{EscDigest, digest};
use rollout_core::facts::{NodeFacts, NodeRole};
use rollout_core::gate::{
    ClusterObservation, EtcdMemberObservation, NodeObservation, ServiceObservation,
};
use rollout_core::machine::{BootProbe, LiveNode};
use rollout_core::{PortError, PortErrorKind};

use crate::ports::{ConfigChange, HealthScope, InstallOutcome, NodeChange, TalosPort};

/// Kernel parameter status id of `net.ipv4.ip_forward`.
const IP_FORWARD: &str = "proc.sys.net.ipv4.ip_forward";

/// How a change feed reconnects after its node went away: soon enough to hear a rebooted
/// node's boot (about a second on real hardware is the shortest) before it reports running
/// and ready, a failed attempt costing one refused call.
const FEED_RECONNECT: Backoff =
    Backoff::new(Duration::from_millis(100), Duration::from_millis(400));

/// [`TalosPort`] over a [`TalosClient`] (per-call node targeting).
///
/// It remembers the last version tag each node reported, so a boot probe reads the boot
/// ID the way that version allows without asking for the version again.
#[derive(Debug, Clone)]
pub struct TalosAdapter {
    client: TalosClient,
    health_wait: Duration,
    versions: Arc<Mutex<HashMap<String, String>>>,
}

impl TalosAdapter {
    /// Wraps a Talos client.
    pub fn new(client: TalosClient) -> Self {
        TalosAdapter {
            client,
            health_wait: Duration::from_secs(60),
            versions: Arc::default(),
        }
    }

    /// Reads the node's version tag and remembers it.
    async fn version_tag(&self, address: &str, node: &NodeClient) -> Result<String, PortError> {
        let tag = node
            .version()
            .await
            .map(|version| version.tag)
            .map_err(|e| port_error("version", e))?;
        self.versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(address.to_owned(), tag.clone());
        Ok(tag)
    }

    /// The node's last reported version tag, read when none is known yet.
    async fn known_version_tag(
        &self,
        address: &str,
        node: &NodeClient,
    ) -> Result<String, PortError> {
        let known = self
            .versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(address)
            .cloned();
        match known {
            Some(tag) => Ok(tag),
            None => self.version_tag(address, node).await,
        }
    }

    /// How long the cluster health check may wait for conditions (default 60 s).
    pub fn health_wait(mut self, wait: Duration) -> Self {
        self.health_wait = wait;
        self
    }

    fn node(&self, node: &str) -> NodeClient {
        self.client.node(node)
    }

    async fn config(
        &self,
        node: &NodeClient,
    ) -> Result<(SecretSlice<u8>, ConfigDocuments), PortError> {
        let bytes = node
            .machine_config()
            .await
            .map_err(|e| port_error("read machine config", e))?;
        let documents = ConfigDocuments::parse(bytes.expose_secret()).map_err(|e| {
            PortError::new(
                "talos",
                "parse machine config",
                PortErrorKind::Rejected,
                e.to_string(),
            )
        })?;
        Ok((bytes, documents))
    }

    async fn is_control_plane(&self, node: &NodeClient) -> Result<bool, PortError> {
        let services = node
            .service_list()
            .await
            .map_err(|e| port_error("list services", e))?;
        Ok(runs_etcd(&services))
    }
}

/// Whether a node with these services is a control-plane node (it runs etcd).
pub(crate) fn runs_etcd(services: &[talos_client::machine::ServiceStatus]) -> bool {
    services.iter().any(|service| service.id == "etcd")
}

fn port_error(operation: &str, error: talos_client::Error) -> PortError {
    let kind = if error.is_unavailable() || error.is_retryable() {
        PortErrorKind::Unavailable
    } else if error.is_busy() {
        PortErrorKind::Busy
    } else if error.is_unimplemented() {
        PortErrorKind::Unsupported
    } else if error.is_not_found() {
        PortErrorKind::NotFound
    } else if error.is_permission_denied() {
        PortErrorKind::PermissionDenied
    } else {
        PortErrorKind::Other
    };
    let message = error.to_string();
    PortError::new("talos", operation, kind, message).with_source(error)
}

/// The node's schematic ID by [`talos_client::resources::reported_schematic_id`]:
/// `ImageFactorySchematics` on Talos 1.14+ when present, else the pseudo-extension among
/// the `extensions` already listed.
async fn reported_schematic_id(
    node: &NodeClient,
    version: &str,
    extensions: &[Resource<ExtensionStatus>],
) -> Result<Option<String>, PortError> {
    let factory = node
        .image_factory_schematic(version)
        .await
        .map_err(|e| port_error("read image factory schematic", e))?;
    Ok(talos_client::resources::reported_schematic_id(
        factory.as_ref(),
        extensions,
    ))
}

/// Extension names as `ExtensionStatuses` reports them, without the schematic pseudo-extension.
fn running_extensions(extensions: &[Resource<ExtensionStatus>]) -> Vec<String> {
    extensions
        .iter()
        .filter(|e| !e.is_schematic())
        .map(|e| e.name().to_owned())
        .collect()
}

/// The Kubernetes node's Ready condition as Talos sees it: `None` when it has none (no
/// nodename, no node status, or a resource this node does not serve). A dropped connection
/// is an error, so the read is retried instead of reporting an unknown status.
async fn kubernetes_ready(node: &NodeClient) -> Result<Option<bool>, PortError> {
    let transient = |error: &talos_client::Error| error.is_unavailable() || error.is_retryable();
    let nodename = match node.nodename().await {
        Ok(Some(nodename)) => nodename,
        Ok(None) => return Ok(None),
        Err(error) if transient(&error) => return Err(port_error("read nodename", error)),
        Err(_) => return Ok(None),
    };
    match node.get::<NodeStatus>(&nodename).await {
        Ok(status) => Ok(status.map(|status| status.spec.node_ready)),
        Err(error) if transient(&error) => Err(port_error("read kubernetes node status", error)),
        Err(_) => Ok(None),
    }
}

/// A service without a health check reports unknown health; it counts as healthy when running.
fn service_observation(service: &ServiceStatus) -> ServiceObservation {
    ServiceObservation {
        running: service.is_running(),
        healthy: service.health.unknown || service.health.healthy,
    }
}

/// Each `ExtensionServiceConfig` document of a machine config, by name, as its digest.
pub(crate) fn esc_digests(documents: &ConfigDocuments) -> BTreeMap<String, EscDigest> {
    documents
        .extension_service_configs()
        .iter()
        .map(|esc| (esc.name.clone(), digest(esc)))
        .collect()
}

#[async_trait]
impl TalosPort for TalosAdapter {
    async fn node_facts(&self, address: &str) -> Result<NodeFacts, PortError> {
        let node = self.node(address);
        let version = self.version_tag(address, &node).await?;
        let extensions = node
            .extensions()
            .await
            .map_err(|e| port_error("list extensions", e))?;
        let schematic_id = reported_schematic_id(&node, &version, &extensions).await?;
        let schematic = extensions.iter().find(|extension| extension.is_schematic());
        let schematic_yaml = schematic
            .and_then(|s| s.spec.metadata.as_ref())
            .map(|metadata| metadata.extra_info.clone())
            .filter(|yaml| !yaml.trim().is_empty());
        let schematic_extensions = schematic_yaml
            .as_deref()
            .and_then(|yaml| factory_client::Schematic::from_yaml(yaml).ok())
            .map(|schematic| schematic.official_extensions().to_vec());
        let (_, documents) = self.config(&node).await?;
        let nodename = node
            .nodename()
            .await
            .map_err(|e| port_error("read nodename", e))?
            .unwrap_or_else(|| address.to_owned());
        let control_plane = self.is_control_plane(&node).await?;
        let etcd_leader = control_plane
            && node
                .etcd_status()
                .await
                .is_ok_and(|status| status.is_leader());
        Ok(NodeFacts {
            node: address.to_owned(),
            nodename,
            role: if control_plane {
                NodeRole::ControlPlane
            } else {
                NodeRole::Worker
            },
            etcd_leader,
            boot_id: node.boot_id_for(&version).await.ok(),
            version,
            schematic_id,
            extensions: running_extensions(&extensions),
            schematic_extensions,
            schematic_yaml,
            install_image: documents.install_image(),
            extension_service_configs: esc_digests(&documents),
        })
    }

    async fn inspect(&self, address: &str) -> Result<LiveNode, PortError> {
        let node = self.node(address);
        let version = self.version_tag(address, &node).await?;
        let schematic_id = node
            .schematic_id_for(&version)
            .await
            .map_err(|e| port_error("read schematic", e))?;
        let (_, documents) = self.config(&node).await?;
        Ok(LiveNode {
            boot_id: node.boot_id_for(&version).await.ok(),
            version,
            schematic_id,
            install_image: documents.install_image(),
            extension_service_configs: esc_digests(&documents),
        })
    }

    async fn observe(&self, address: &str) -> Result<NodeObservation, PortError> {
        let node = self.node(address);
        let version = self.version_tag(address, &node).await?;
        let extensions = node
            .extensions()
            .await
            .map_err(|e| port_error("list extensions", e))?;
        let schematic_id = reported_schematic_id(&node, &version, &extensions).await?;
        let (_, documents) = self.config(&node).await?;
        let applied = node
            .list::<ExtensionServiceConfigStatus>()
            .await
            .map_err(|e| port_error("list extension service config statuses", e))?;
        let services = node
            .service_list()
            .await
            .map_err(|e| port_error("list services", e))?;
        let ip_forward = node
            .get::<KernelParamStatus>(IP_FORWARD)
            .await
            .map_err(|e| port_error("read ip_forward", e))?
            .map(|param| param.spec.current.trim() == "1");
        let status = node
            .machine_status()
            .await
            .map_err(|e| port_error("machine status", e))?;
        let kubernetes_ready = kubernetes_ready(&node).await?;
        Ok(NodeObservation {
            version,
            schematic_id,
            extensions: running_extensions(&extensions),
            esc_configured: esc_digests(&documents),
            esc_applied: applied
                .into_iter()
                .map(|status| status.metadata.id)
                .collect(),
            services: services
                .iter()
                .map(|s| (s.id.clone(), service_observation(s)))
                .collect(),
            ip_forward,
            machine_ready: status.stage() == MachineStage::Running && status.is_ready(),
            kubernetes_ready,
        })
    }

    async fn cluster_health(
        &self,
        via: &str,
        scope: &HealthScope,
    ) -> Result<ClusterObservation, PortError> {
        let node = self.node(via);
        let nodes = ClusterNodes {
            control_plane: scope.control_plane.clone(),
            workers: scope.workers.clone(),
        };
        let mut stream = node
            .health_check(self.health_wait, &nodes)
            .await
            .map_err(|e| port_error("health check", e))?;
        let mut health = Ok(());
        while let Some(line) = stream.next().await {
            if let Err(error) = line {
                health = Err(error.to_string());
                break;
            }
        }
        let members = node
            .etcd_member_list()
            .await
            .map_err(|e| port_error("etcd member list", e))?;
        let alarms = node
            .etcd_status()
            .await
            .map(|status| status.errors)
            .unwrap_or_default();
        let etcd_members = members
            .into_iter()
            .map(|member| EtcdMemberObservation {
                name: member.hostname,
                healthy: !member.is_learner && alarms.is_empty(),
            })
            .collect();
        Ok(ClusterObservation {
            health,
            etcd_members,
        })
    }

    async fn read_machine_config(&self, address: &str) -> Result<SecretSlice<u8>, PortError> {
        let (bytes, _) = self.config(&self.node(address)).await?;
        Ok(bytes)
    }

    async fn apply_config_change(
        &self,
        address: &str,
        change: &ConfigChange,
    ) -> Result<(), PortError> {
        let node = self.node(address);
        let (_, mut documents) = self.config(&node).await?;
        let invalid = |e: talos_client::machine_config::MachineConfigError| {
            PortError::new(
                "talos",
                "edit machine config",
                PortErrorKind::Rejected,
                e.to_string(),
            )
        };
        if let Some(image) = &change.install_image {
            documents.set_install_image(image).map_err(invalid)?;
        }
        if let Some(esc) = &change.extension_service_config {
            documents
                .upsert_extension_service_config(esc)
                .map_err(invalid)?;
        }
        node.apply_configuration(&documents.to_bytes(), ApplyMode::NoReboot, false)
            .await
            .map(|_| ())
            .map_err(|e| port_error("apply configuration", e))
    }

    async fn apply_machine_config(
        &self,
        address: &str,
        config: &SecretSlice<u8>,
    ) -> Result<(), PortError> {
        self.node(address)
            .apply_configuration(config.expose_secret(), ApplyMode::NoReboot, false)
            .await
            .map(|_| ())
            .map_err(|e| port_error("apply configuration", e))
    }

    async fn install(&self, address: &str, image: &str) -> Result<InstallOutcome, PortError> {
        // Acts only: the machine waits for the reboot (AwaitReboot) on its own clock.
        let path = talos_client::upgrade::install(
            &self.node(address),
            &UpgradeOptions::new(image),
            |_| {},
        )
        .await
        .map_err(|e| port_error("install", e))?;
        // The legacy upgrade reboots by itself once its installer ran.
        Ok(InstallOutcome {
            reboot_started: path == UpgradePath::Legacy,
        })
    }

    async fn reboot(&self, address: &str) -> Result<(), PortError> {
        self.node(address)
            .reboot(RebootMode::Default)
            .await
            .map(|_| ())
            .map_err(|e| port_error("reboot", e))
    }

    async fn rollback(&self, address: &str) -> Result<(), PortError> {
        self.node(address)
            .rollback()
            .await
            .map_err(|e| port_error("rollback", e))
    }

    async fn probe_boot(&self, address: &str) -> Result<BootProbe, PortError> {
        let node = self.node(address);
        let version = self.known_version_tag(address, &node).await?;
        let boot_id = node
            .boot_id_for(&version)
            .await
            .map_err(|e| port_error("read boot id", e))?;
        let status = node
            .machine_status()
            .await
            .map_err(|e| port_error("machine status", e))?;
        Ok(BootProbe::Up {
            boot_id,
            ready: status.stage() == MachineStage::Running && status.is_ready(),
        })
    }

    fn changes(&self, address: &str) -> Option<BoxStream<'static, NodeChange>> {
        let feed = EventFeed::new(self.node(address), EventsTail::None, FEED_RECONNECT);
        let changes = futures::stream::unfold(feed, |mut feed| async move {
            let change = match feed.next().await {
                Ok(FeedItem::Connected) => NodeChange::Connected,
                Ok(FeedItem::Lost { .. }) => NodeChange::Lost,
                Ok(_) => NodeChange::Changed,
                Err(error) => {
                    tracing::debug!(%error, "change feed ended; the node is polled instead");
                    return None;
                }
            };
            Some((change, feed))
        });
        Some(changes.boxed())
    }

    async fn service_log_tail(
        &self,
        address: &str,
        service: &str,
        lines: usize,
    ) -> Result<Vec<String>, PortError> {
        let tail = u32::try_from(lines).unwrap_or(u32::MAX);
        let stream = self
            .node(address)
            .logs(service, false, Some(tail))
            .await
            .map_err(|e| port_error("logs", e))?;
        let lines: Vec<Result<String, talos_client::Error>> = stream.collect().await;
        lines
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| port_error("logs", e))
    }
}
