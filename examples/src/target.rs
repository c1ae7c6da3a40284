//! Where a tool points: a real cluster (talosconfig, Image Factory, tailnet) or, when no
//! target flag is given, the embedded simulated cluster. Both go through the same clients.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use factory_client::{DEFAULT_FACTORY_URL, FactoryClient};
use tailscale_client::{Credentials, DEFAULT_BASE_URL, DEFAULT_TAILNET, TailscaleClient};
use talos_client::TalosClient;
use talos_client::config::TalosConfig;
use talos_client::identity::ClientIdentity;
use talos_rollout::profiles::tailscale::{ConnectivityProbe, TailnetPresence};

/// Reboot timings of the embedded sim: short, so the demo takes seconds per node.
const EMBEDDED_TIMINGS: sim::talos::Timings = sim::talos::Timings {
    shutdown: Duration::from_millis(300),
    reboot: Duration::from_secs(2),
    boot: Duration::from_millis(500),
    service_restart: Duration::from_secs(2),
};

/// The flags that choose the target; without any of them the embedded sim is started.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// talosconfig file of a real cluster (default: talosctl's search order when another
    /// target flag is given).
    #[arg(long, value_name = "PATH", help_heading = "Target")]
    pub talosconfig: Option<PathBuf>,
    /// talosconfig context (default: the current context).
    #[arg(long, value_name = "NAME", help_heading = "Target")]
    pub context: Option<String>,
    /// Nodes to act on, comma separated (default: the context's nodes).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NODE,...",
        help_heading = "Target"
    )]
    pub nodes: Vec<String>,
    /// Image Factory base URL.
    #[arg(long, value_name = "URL", help_heading = "Target")]
    pub factory_url: Option<String>,
    /// Tailnet name (`-` = the credentials' default tailnet). Credentials come from
    /// TS_API_KEY, or TS_OAUTH_CLIENT_ID and TS_OAUTH_CLIENT_SECRET.
    #[arg(long, value_name = "TAILNET", help_heading = "Target")]
    pub tailnet: Option<String>,
    /// Tailscale API base URL (without /api/v2).
    #[arg(long, value_name = "URL", help_heading = "Target")]
    pub tailscale_url: Option<String>,
    /// Control-plane nodes of the embedded sim (used only without target flags).
    #[arg(
        long,
        default_value_t = 3,
        value_name = "N",
        help_heading = "Embedded sim"
    )]
    pub sim_control_planes: usize,
    /// Worker nodes of the embedded sim (used only without target flags).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        help_heading = "Embedded sim"
    )]
    pub sim_workers: usize,
}

impl TargetArgs {
    /// True when a flag names a real target (so the embedded sim is not started).
    pub fn is_real(&self) -> bool {
        self.talosconfig.is_some()
            || self.context.is_some()
            || !self.nodes.is_empty()
            || self.factory_url.is_some()
            || self.tailnet.is_some()
            || self.tailscale_url.is_some()
    }
}

/// Which kind of target the tool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A real cluster, factory and tailnet.
    Real,
    /// The simulated cluster embedded in this process.
    EmbeddedSim,
}

/// Connected clients for the chosen target.
#[derive(Debug)]
pub struct Target {
    /// Talos machine API client.
    pub talos: TalosClient,
    /// Nodes to act on, as the Talos API targets them.
    pub nodes: Vec<String>,
    /// Cluster name (for artifacts).
    pub cluster: String,
    /// Image Factory client.
    pub factory: FactoryClient,
    /// Tailscale admin API client.
    pub tailnet: TailscaleClient,
    /// Real or simulated.
    pub kind: TargetKind,
    /// The talosconfig identity (for connections made besides `talos`, e.g. over the tailnet).
    pub identity: ClientIdentity,
    /// The embedded sim (kept serving while the target lives).
    pub sim: Option<sim::Sim>,
}

impl Target {
    /// Connects to the target the flags name, or starts the embedded sim shaped like the
    /// seed cluster (or the shape the `--sim-*` flags give).
    ///
    /// # Errors
    /// Unreadable talosconfig, no nodes, missing Tailscale credentials, or a sim that
    /// cannot start; each message says what to fix.
    pub async fn connect(args: &TargetArgs) -> anyhow::Result<Target> {
        if args.is_real() {
            Self::real(args)
        } else {
            let sim = sim::Sim::builder()
                .control_planes(args.sim_control_planes)
                .workers(args.sim_workers)
                .timings(EMBEDDED_TIMINGS)
                .tailnet(sim::tailnet::TailnetOptions {
                    appear_delay: Duration::from_secs(2),
                    ..sim::tailnet::TailnetOptions::default()
                })
                .start()
                .await
                .context("cannot start the embedded simulated cluster")?;
            Self::embedded(sim)
        }
    }

    /// Clients for an already running embedded sim.
    ///
    /// # Errors
    /// When the sim's talosconfig or URLs are unusable (a bug in the sim).
    pub fn embedded(sim: sim::Sim) -> anyhow::Result<Target> {
        let config = sim.talosconfig()?;
        let context = config.context(None)?;
        let talos = TalosClient::connect(context).context("cannot connect to the embedded sim")?;
        let factory = FactoryClient::new(&sim.factory_url())?;
        let tailnet = TailscaleClient::builder()
            .base_url(sim.tailnet_url())
            .credentials(Credentials::api_key(sim.tailnet_api_key().clone()))
            .build()?;
        Ok(Target {
            talos,
            nodes: context.nodes().to_vec(),
            cluster: context.cluster().unwrap_or(context.name()).to_owned(),
            factory,
            tailnet,
            kind: TargetKind::EmbeddedSim,
            identity: context.identity().clone(),
            sim: Some(sim),
        })
    }

    fn real(args: &TargetArgs) -> anyhow::Result<Target> {
        let config = match &args.talosconfig {
            Some(path) => TalosConfig::from_path(path)?,
            None => TalosConfig::load()?,
        };
        let context = config.context(args.context.as_deref())?;
        let nodes = if args.nodes.is_empty() {
            context.nodes().to_vec()
        } else {
            args.nodes.clone()
        };
        if nodes.is_empty() {
            return Err(crate::exit::invalid_input(format!(
                "talosconfig context {} lists no nodes; pass --nodes NODE,... or add nodes to the context",
                context.name()
            )));
        }
        let talos = TalosClient::connect(context)?;
        let factory_url = args.factory_url.as_deref().unwrap_or(DEFAULT_FACTORY_URL);
        let factory = FactoryClient::new(factory_url)?;
        let credentials = Credentials::from_env().map_err(|error| {
            crate::exit::invalid_input(format!(
                "{error}; export TS_API_KEY (or TS_OAUTH_CLIENT_ID and TS_OAUTH_CLIENT_SECRET)"
            ))
        })?;
        let tailnet = TailscaleClient::builder()
            .base_url(args.tailscale_url.as_deref().unwrap_or(DEFAULT_BASE_URL))
            .tailnet(args.tailnet.as_deref().unwrap_or(DEFAULT_TAILNET))
            .credentials(credentials)
            .build()?;
        Ok(Target {
            talos,
            nodes,
            cluster: context.cluster().unwrap_or(context.name()).to_owned(),
            factory,
            tailnet,
            kind: TargetKind::Real,
            identity: context.identity().clone(),
            sim: None,
        })
    }

    /// The connectivity probe for this target: on a real cluster it asks the local
    /// tailscaled whether this machine is on the tailnet; the embedded sim counts as on the
    /// tailnet and its names lead to the sim's nodes (TLS still verifies them).
    pub fn connectivity_probe(&self) -> ConnectivityProbe {
        let probe = ConnectivityProbe::new(self.identity.clone());
        match &self.sim {
            Some(sim) => {
                let dns = sim.tailnet_dns();
                probe
                    .presence(TailnetPresence::Assume(true))
                    .resolver(Arc::new(move || dns.hosts()))
            }
            None => probe.presence(TailnetPresence::Detect),
        }
    }
}
