//! The whole simulation in one value: a Talos cluster behind an mTLS apid endpoint, an Image
//! Factory, a tailnet and a Kubernetes API, all on loopback, plus the talosconfig and
//! kubeconfig that reach them.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use secrecy::SecretString;
use talos_client::config::{Context, TalosConfig};

use crate::clock::SimClock;
use crate::factory::{FactoryOptions, ImageFactory};
use crate::http_server::HttpServer;
use crate::kube::{KubeApi, KubeTimings};
use crate::mtls::{self, ServerHandle};
use crate::pki::{LOOPBACK_SANS, Pki};
use crate::tailnet::{DeviceAddresses, Tailnet, TailnetOptions};
use crate::talos::{
    self, ClusterContext, ClusterSettings, KubeAccess, NodeRole, NodeSpec, TalosCluster, Timings,
};
use crate::{Error, Faults};

/// The seed cluster's Talos version.
pub const DEFAULT_TALOS_VERSION: &str = "v1.10.4";
/// The seed cluster's extensions.
pub const DEFAULT_EXTENSIONS: &[&str] = &["siderolabs/i915", "siderolabs/mei"];
/// The seed cluster's Kubernetes service CIDR (what `TS_ROUTES` advertises).
pub const DEFAULT_SERVICE_CIDR: &str = "10.43.0.0/16";
/// The most nodes one sim serves (addresses `10.5.0.2` onwards stay inside `10.5.0.0/16`).
pub const MAX_NODES: usize = 5_000;
/// The name of the talosconfig context the sim writes.
pub const CONTEXT_NAME: &str = "sim";

/// The first generated node's address; the others follow it in order.
const FIRST_NODE_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 5, 0, 2);

/// Builds a [`Sim`]; the default is the seed cluster: `k8s-1..3`, all control plane,
/// Talos v1.10.4 with `siderolabs/i915` and `siderolabs/mei`, service CIDR 10.43.0.0/16.
#[derive(Debug, Clone)]
pub struct SimBuilder {
    nodes: Option<Vec<NodeSpec>>,
    control_planes: usize,
    workers: usize,
    talos_version: String,
    extensions: Vec<String>,
    service_cidr: String,
    cluster_name: String,
    apid_endpoints: usize,
    timings: Timings,
    kube_timings: KubeTimings,
    reboot_jitter: Duration,
    tailnet: TailnetOptions,
    factory: FactoryOptions,
    faults: Faults,
}

impl Default for SimBuilder {
    fn default() -> Self {
        Self {
            nodes: None,
            control_planes: 3,
            workers: 0,
            talos_version: DEFAULT_TALOS_VERSION.to_owned(),
            extensions: DEFAULT_EXTENSIONS.iter().map(|e| (*e).to_owned()).collect(),
            service_cidr: DEFAULT_SERVICE_CIDR.to_owned(),
            cluster_name: "sim".to_owned(),
            apid_endpoints: 1,
            timings: Timings::default(),
            kube_timings: KubeTimings::default(),
            reboot_jitter: Duration::ZERO,
            tailnet: TailnetOptions::default(),
            factory: FactoryOptions::default(),
            faults: Faults::default(),
        }
    }
}

impl SimBuilder {
    /// Number of control-plane nodes (named first: `k8s-1`, …).
    pub fn control_planes(mut self, count: usize) -> Self {
        self.control_planes = count;
        self
    }

    /// Number of worker nodes (named after the control-plane nodes).
    pub fn workers(mut self, count: usize) -> Self {
        self.workers = count;
        self
    }

    /// Exact node specs; replaces the counts, version and extensions settings.
    pub fn nodes(mut self, nodes: Vec<NodeSpec>) -> Self {
        self.nodes = Some(nodes);
        self
    }

    /// The Talos version every generated node runs.
    pub fn talos_version(mut self, version: impl Into<String>) -> Self {
        self.talos_version = version.into();
        self
    }

    /// The official extensions every generated node runs.
    pub fn extensions<I, S>(mut self, extensions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extensions = extensions.into_iter().map(Into::into).collect();
        self
    }

    /// The Kubernetes service CIDR in the nodes' configuration.
    pub fn service_cidr(mut self, cidr: impl Into<String>) -> Self {
        self.service_cidr = cidr.into();
        self
    }

    /// How many apid endpoints serve the cluster (default 1), as when a talosconfig lists
    /// several control-plane nodes; every endpoint reaches every node.
    pub fn apid_endpoints(mut self, count: usize) -> Self {
        self.apid_endpoints = count.max(1);
        self
    }

    /// Sets how fast pods of the Kubernetes API go away and come back.
    pub fn kube_timings(mut self, timings: KubeTimings) -> Self {
        self.kube_timings = timings;
        self
    }

    /// Reboot and restart timings.
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// Lets every reboot take up to `jitter` longer than [`Timings::reboot`], spread evenly
    /// over the nodes and reproducibly (the same node's same reboot always takes the same
    /// time), so that nodes of a large rollout come back at realistic, different times.
    pub fn reboot_jitter(mut self, jitter: Duration) -> Self {
        self.reboot_jitter = jitter;
        self
    }

    /// Tailnet settings (policy, credentials, device delay, device approval).
    pub fn tailnet(mut self, options: TailnetOptions) -> Self {
        self.tailnet = options;
        self
    }

    /// Factory settings (versions, extensions).
    pub fn factory(mut self, options: FactoryOptions) -> Self {
        self.factory = options;
        self
    }

    /// Shares `faults` with the sim (flip them at any time).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    fn node_specs(&self) -> Vec<NodeSpec> {
        if let Some(nodes) = &self.nodes {
            return nodes.clone();
        }
        (0..self.control_planes + self.workers)
            .map(|index| {
                let role = if index < self.control_planes {
                    NodeRole::ControlPlane
                } else {
                    NodeRole::Worker
                };
                let offset = u32::try_from(index).unwrap_or(u32::MAX);
                let address = u32::from(FIRST_NODE_ADDRESS).saturating_add(offset);
                NodeSpec::new(
                    format!("k8s-{}", index + 1),
                    IpAddr::V4(Ipv4Addr::from(address)),
                    role,
                )
                .with_version(self.talos_version.clone())
                .with_extensions(self.extensions.iter().cloned())
            })
            .collect()
    }

    /// Starts the factory, the tailnet and the cluster's apid endpoint on loopback.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetup`] for an impossible shape (no control plane, duplicate
    /// hostnames, a version or extension the factory does not offer), [`Error::Io`] when no
    /// loopback port can be bound, [`Error::Pki`]/[`Error::Tls`] for certificate failures.
    pub async fn start(self) -> Result<Sim, Error> {
        let specs = self.node_specs();
        if specs.len() > MAX_NODES {
            return Err(Error::InvalidSetup(format!(
                "at most {MAX_NODES} nodes are supported; ask for fewer nodes"
            )));
        }
        let clock = SimClock::start();
        let factory = ImageFactory::new(self.factory, self.faults.clone());
        let factory_server = factory.serve().await?;
        let tailnet = Tailnet::new(self.tailnet, clock, self.faults.clone())?;
        let tailnet_server = tailnet.serve().await?;
        let first_control_plane = specs
            .iter()
            .find(|s| s.is_control_plane())
            .map(|s| s.address.to_string())
            .unwrap_or_default();
        let settings = ClusterSettings {
            cluster_name: self.cluster_name,
            service_cidr: self.service_cidr,
            pod_cidr: "10.42.0.0/16".to_owned(),
            control_plane_endpoint: format!("https://{first_control_plane}:6443"),
        };
        let ctx = ClusterContext {
            factory: factory.clone(),
            tailnet: tailnet.clone(),
            faults: self.faults.clone(),
            clock,
            timings: self.timings,
            reboot_jitter: self.reboot_jitter,
            connections: OnceLock::new(),
            kube_access: OnceLock::new(),
            calls: Default::default(),
            advances: Default::default(),
        };
        let installer_host = factory_server.addr().to_string();
        let cluster_name = settings.cluster_name.clone();
        let cluster = TalosCluster::new(specs, ctx, &settings, &installer_host)?;
        let pki = Arc::new(Pki::generate()?);
        let tls = pki.server_config(LOOPBACK_SANS)?;
        let kube = KubeApi::new(cluster.clone(), self.faults.clone(), self.kube_timings);
        let kube_server = kube.serve(&pki).await?;
        let kube_access = KubeAccess {
            pki: Arc::clone(&pki),
            server: kube_server.url(),
            cluster_name,
        };
        // Set once, right after serving; nothing else sets it.
        let _ = cluster.ctx.kube_access.set(kube_access);
        let mut apid = Vec::new();
        for endpoint in 0..self.apid_endpoints {
            apid.push(mtls::serve(talos::routes(&cluster, endpoint), Arc::clone(&tls)).await?);
        }
        let mut node_apid = Vec::new();
        for (index, node) in cluster.nodes.iter().enumerate() {
            let certificate =
                talos::NodeCertificate::new(Arc::clone(&pki), Arc::clone(node), tailnet.clone());
            let routes =
                talos::node_routes(&cluster, Arc::clone(node), self.apid_endpoints + index);
            let tls = pki.server_config_with(Arc::new(certificate))?;
            node_apid.push(mtls::serve(routes, tls).await?);
        }
        let controls = apid.iter().map(ServerHandle::connection_control).collect();
        // Set once, right after serving; nothing else sets it.
        let _ = cluster.ctx.connections.set(controls);
        Ok(Sim {
            pki,
            kube,
            kube_server,
            node_apid,
            apid_addrs: apid.iter().map(ServerHandle::addr).collect(),
            apid: apid.into_iter().map(Some).collect(),
            factory_server,
            tailnet_server,
            cluster,
            factory,
            tailnet,
            faults: self.faults,
        })
    }
}

/// The sim's dialer seam for "over the tailnet": every registered device's MagicDNS name,
/// IPv4 and IPv6 address, mapped to its node's own apid on loopback.
///
/// Give each pair to [`talos_client::TalosClientBuilder::resolve`] and connect to the name
/// (port 50000): the TCP connection goes to loopback while TLS verifies the node's
/// certificate against the name, so a name missing from the node's `machine.certSANs`
/// fails the handshake exactly as on a real node. Devices appear once the nodes log in.
#[derive(Debug, Clone)]
pub struct TailnetDns {
    cluster: TalosCluster,
    tailnet: Tailnet,
    endpoints: Vec<SocketAddr>,
}

impl TailnetDns {
    /// Name or address → the node's loopback apid, for every device registered now.
    pub fn hosts(&self) -> BTreeMap<String, SocketAddr> {
        let mut hosts = BTreeMap::new();
        for (node, endpoint) in self.cluster.nodes.iter().zip(&self.endpoints) {
            let device = node.read(|state| state.tailscale_device.clone());
            let Some(addresses) = device.and_then(|id| self.tailnet.device_addresses(&id)) else {
                continue;
            };
            for host in [
                addresses.fqdn,
                addresses.ipv4.to_string(),
                addresses.ipv6.to_string(),
            ] {
                hosts.insert(host, *endpoint);
            }
        }
        hosts
    }
}

/// A running simulation. Dropping it stops every server.
///
/// # Usage
///
/// ```no_run
/// # async fn run() -> Result<(), sim::Error> {
/// let sim = sim::Sim::builder().workers(2).start().await?;
/// let talosconfig = sim.talosconfig()?;
/// println!("apid at {}, factory at {}, tailnet at {}", sim.endpoint(), sim.factory_url(), sim.tailnet_url());
/// sim.faults().node_never_returns("k8s-2");
/// # drop(talosconfig);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Sim {
    pki: Arc<Pki>,
    kube: KubeApi,
    kube_server: HttpServer,
    /// The apid endpoints' addresses, by index (kept after an endpoint is stopped).
    apid_addrs: Vec<SocketAddr>,
    /// The apid servers, by index; `None` once stopped.
    apid: Vec<Option<ServerHandle>>,
    /// Each node's own apid (its certificate is the node's), in node order.
    node_apid: Vec<ServerHandle>,
    factory_server: HttpServer,
    tailnet_server: HttpServer,
    cluster: TalosCluster,
    factory: ImageFactory,
    tailnet: Tailnet,
    faults: Faults,
}

impl Sim {
    /// A builder with the seed cluster's shape.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// The (first) apid endpoint, `127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        self.apid_addrs
            .first()
            .map(SocketAddr::to_string)
            .unwrap_or_default()
    }

    /// Every apid endpoint, `127.0.0.1:<port>`, in index order.
    pub fn endpoints(&self) -> Vec<String> {
        self.apid_addrs.iter().map(SocketAddr::to_string).collect()
    }

    /// A talosconfig (context `sim`) with an `os:admin` client certificate.
    ///
    /// # Errors
    ///
    /// As [`Sim::talosconfig_with_roles`].
    pub fn talosconfig(&self) -> Result<TalosConfig, Error> {
        self.talosconfig_with_roles(&["os:admin"])
    }

    /// A talosconfig (context `sim`) whose client certificate carries `roles`; its
    /// endpoints are every apid endpoint and its nodes every node's address.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetup`] for no or more than two roles, [`Error::Pki`] on certificate failures.
    pub fn talosconfig_with_roles(&self, roles: &[&str]) -> Result<TalosConfig, Error> {
        let identity = self.pki.client_identity(roles)?;
        let nodes: Vec<String> = self
            .cluster
            .specs()
            .iter()
            .map(|spec| spec.address.to_string())
            .collect();
        let context = Context::new(CONTEXT_NAME, self.endpoints(), nodes, identity)
            .map_err(|e| Error::InvalidSetup(e.to_string()))?;
        Ok(TalosConfig::new(context))
    }

    /// A kubeconfig (context `admin@<cluster>`) for the Kubernetes API, with a newly
    /// issued `system:masters` client certificate; what `MachineService.Kubeconfig` returns.
    ///
    /// # Errors
    ///
    /// [`Error::Pki`] on certificate failures.
    pub fn kubeconfig(&self) -> Result<SecretString, Error> {
        self.kube_access()?.kubeconfig()
    }

    fn kube_access(&self) -> Result<&KubeAccess, Error> {
        self.cluster
            .ctx
            .kube_access
            .get()
            .ok_or_else(|| Error::InvalidSetup("the Kubernetes API is not running".to_owned()))
    }

    /// The Kubernetes API base URL, `https://127.0.0.1:<port>`.
    pub fn kube_url(&self) -> String {
        self.kube_server.url()
    }

    /// The simulated Kubernetes API (pods, budgets, leases, recorded requests).
    pub fn kube(&self) -> &KubeApi {
        &self.kube
    }

    /// Where each tailnet name and address of the nodes leads now (see [`TailnetDns`]).
    pub fn tailnet_hosts(&self) -> BTreeMap<String, SocketAddr> {
        self.tailnet_dns().hosts()
    }

    /// A cloneable handle answering [`Sim::tailnet_hosts`] as devices come and go.
    pub fn tailnet_dns(&self) -> TailnetDns {
        TailnetDns {
            cluster: self.cluster.clone(),
            tailnet: self.tailnet.clone(),
            endpoints: self.node_apid.iter().map(ServerHandle::addr).collect(),
        }
    }

    /// The MagicDNS name and tailnet addresses of the node `host` (hostname or address),
    /// once its device has registered.
    pub fn tailnet_addresses(&self, host: &str) -> Option<DeviceAddresses> {
        let device = self
            .cluster
            .find(host)?
            .read(|state| state.tailscale_device.clone())?;
        self.tailnet.device_addresses(&device)
    }

    /// The loopback address of the node `host`'s own apid, whose certificate carries the
    /// node's addresses and `machine.certSANs` (re-issued when they change).
    pub fn node_endpoint(&self, host: &str) -> Option<SocketAddr> {
        let index = self.cluster.index_of(host)?;
        self.node_apid.get(index).map(ServerHandle::addr)
    }

    /// The Image Factory base URL.
    pub fn factory_url(&self) -> String {
        self.factory_server.url()
    }

    /// The tailnet base URL (the API is under `/api/v2`).
    pub fn tailnet_url(&self) -> String {
        self.tailnet_server.url()
    }

    /// The API access token the tailnet accepts.
    pub fn tailnet_api_key(&self) -> &SecretString {
        self.tailnet.api_key()
    }

    /// The shared fault switches.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The simulated nodes (snapshots, logs).
    pub fn cluster(&self) -> &TalosCluster {
        &self.cluster
    }

    /// The simulated tailnet.
    pub fn tailnet(&self) -> &Tailnet {
        &self.tailnet
    }

    /// The simulated factory.
    pub fn factory(&self) -> &ImageFactory {
        &self.factory
    }

    /// The certificate authority behind the apid endpoint.
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// Abruptly closes every open apid connection now.
    pub fn drop_apid_connections(&self) {
        for server in self.apid.iter().flatten() {
            server.drop_connections();
        }
    }

    /// Stops apid endpoint `index` for good (its open connections close and new ones are
    /// refused), as when that control-plane node is switched off; the nodes stay reachable
    /// through the other endpoints.
    pub async fn stop_apid_endpoint(&mut self, index: usize) {
        if let Some(server) = self.apid.get_mut(index).and_then(Option::take) {
            server.shutdown().await;
        }
    }

    /// Stops every server and waits for them.
    pub async fn shutdown(self) {
        for server in self.apid.into_iter().flatten().chain(self.node_apid) {
            server.shutdown().await;
        }
        self.factory_server.shutdown().await;
        self.tailnet_server.shutdown().await;
        self.kube_server.shutdown().await;
    }
}
