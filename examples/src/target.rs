//! Where a tool points: a real cluster, Image Factory and tailnet named by flags, or the
//! embedded simulated cluster. Each tool takes only the flag groups it uses
//! ([`ClusterArgs`], [`FactoryArgs`], [`TailnetArgs`]) and asks [`Target`] only for those
//! clients, so it needs only their credentials: `get-extensions` never reads Tailscale
//! credentials, `policy-check` never reads a talosconfig.
//!
//! Every tool but `full-rollout` needs a target flag or an explicit `--sim`: a monitor or
//! a write tool silently acting on a simulated cluster would give a false answer.
//! `full-rollout` without flags is the demo and starts the sim; every tool on the sim says
//! so on stderr.

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

use crate::exit::invalid_input;

/// Reboot timings of the embedded sim: short, so the demo takes seconds per node.
const EMBEDDED_TIMINGS: sim::talos::Timings = sim::talos::Timings {
    shutdown: Duration::from_millis(300),
    reboot: Duration::from_secs(2),
    boot: Duration::from_millis(500),
    install: Duration::ZERO,
    service_restart: Duration::from_secs(2),
};

/// The Talos cluster: talosconfig, context and nodes.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Target: Talos cluster")]
pub struct ClusterArgs {
    /// talosconfig file of a real cluster (default: talosctl's search order when another
    /// target flag is given).
    #[arg(long, value_name = "PATH")]
    pub talosconfig: Option<PathBuf>,
    /// talosconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Nodes to act on, comma separated (default: the context's nodes).
    #[arg(long, value_delimiter = ',', value_name = "NODE,...")]
    pub nodes: Vec<String>,
}

/// The Image Factory.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Target: Image Factory")]
pub struct FactoryArgs {
    /// Image Factory base URL.
    #[arg(long, value_name = "URL")]
    pub factory_url: Option<String>,
}

/// The tailnet and its API credentials.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Target: tailnet")]
pub struct TailnetArgs {
    /// Tailnet name (`-` = the credentials' default tailnet). Credentials come from
    /// TS_API_KEY, or TS_OAUTH_CLIENT_ID and TS_OAUTH_CLIENT_SECRET.
    #[arg(long, value_name = "TAILNET")]
    pub tailnet: Option<String>,
    /// Tailscale API base URL (without /api/v2).
    #[arg(long, value_name = "URL")]
    pub tailscale_url: Option<String>,
}

/// The flags every cluster tool shares: the embedded sim and the plain-http opt-in.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Target")]
pub struct TargetArgs {
    /// Act on the embedded simulated cluster (the seed's three nodes) instead of a real one.
    #[arg(long)]
    pub sim: bool,
    /// Control-plane nodes of the embedded sim.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=16))]
    pub sim_control_planes: u8,
    /// Worker nodes of the embedded sim.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=64))]
    pub sim_workers: u8,
    /// Accept plain http:// URLs to hosts other than loopback (test rigs only: credentials
    /// travel in cleartext). Loopback URLs are always accepted.
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// Flag groups that can name a real target.
pub trait NamesTarget {
    /// True when one of the group's flags was given.
    fn names_target(&self) -> bool;
}

impl NamesTarget for ClusterArgs {
    fn names_target(&self) -> bool {
        self.talosconfig.is_some() || self.context.is_some() || !self.nodes.is_empty()
    }
}

impl NamesTarget for FactoryArgs {
    fn names_target(&self) -> bool {
        self.factory_url.is_some()
    }
}

impl NamesTarget for TailnetArgs {
    fn names_target(&self) -> bool {
        self.tailnet.is_some() || self.tailscale_url.is_some()
    }
}

/// What a tool does when no target flag and no `--sim` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithoutFlags {
    /// Start the embedded sim (`full-rollout`, the demo).
    StartSim,
    /// Refuse with exit 2 and name both choices.
    Refuse,
}

/// Which kind of target the tool talks to; every JSON document carries it as `"target"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// A real cluster, factory and tailnet.
    Real,
    /// The simulated cluster embedded in this process.
    EmbeddedSim,
}

/// The Talos side of a target.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Talos machine API client.
    pub talos: TalosClient,
    /// Nodes to act on, as the Talos API targets them.
    pub nodes: Vec<String>,
    /// Cluster name (for artifacts).
    pub name: String,
    /// The talosconfig identity (for connections made besides `talos`, e.g. over the tailnet).
    pub identity: ClientIdentity,
}

/// The chosen target: real, or the embedded sim (kept serving while this lives). Clients
/// are made on request, so a tool reads only the configuration and credentials it uses.
#[derive(Debug)]
pub struct Target {
    /// Real or simulated.
    pub kind: TargetKind,
    sim: Option<sim::Sim>,
    allow_insecure_http: bool,
}

impl Target {
    /// Chooses the target: the embedded sim with `--sim` (or, for
    /// [`WithoutFlags::StartSim`], without any target flag), else the real target the
    /// `groups` name. Starting the sim is said on stderr.
    ///
    /// # Errors
    /// Invalid input for `--sim` together with target flags, or for no target at all with
    /// [`WithoutFlags::Refuse`]; a sim that cannot start.
    pub async fn choose(
        args: &TargetArgs,
        groups: &[&dyn NamesTarget],
        without_flags: WithoutFlags,
    ) -> anyhow::Result<Target> {
        let named = groups.iter().any(|group| group.names_target());
        if args.sim && named {
            return Err(invalid_input(
                "--sim cannot be combined with target flags; drop --sim to act on the real target, or the target flags to use the embedded sim",
            ));
        }
        let start_sim = args.sim || (!named && without_flags == WithoutFlags::StartSim);
        if !start_sim && !named {
            return Err(invalid_input(
                "no target given; pass --talosconfig/--context/--nodes (or --tailnet for tailnet-only tools) for a real target, or --sim for the embedded simulated cluster",
            ));
        }
        if !start_sim {
            return Ok(Target {
                kind: TargetKind::Real,
                sim: None,
                allow_insecure_http: args.allow_insecure_http,
            });
        }
        let sim = sim::Sim::builder()
            .control_planes(usize::from(args.sim_control_planes))
            .workers(usize::from(args.sim_workers))
            .timings(EMBEDDED_TIMINGS)
            .tailnet(sim::tailnet::TailnetOptions {
                appear_delay: Duration::from_secs(2),
                ..sim::tailnet::TailnetOptions::default()
            })
            .start()
            .await
            .context("cannot start the embedded simulated cluster")?;
        eprintln!(
            "note: acting on the embedded simulated cluster ({} nodes), not a real one; pass --talosconfig (and --tailnet) for a real cluster",
            usize::from(args.sim_control_planes) + usize::from(args.sim_workers)
        );
        Ok(Target {
            kind: TargetKind::EmbeddedSim,
            sim: Some(sim),
            allow_insecure_http: args.allow_insecure_http,
        })
    }

    /// The Talos cluster: the sim's, or the talosconfig context the flags name.
    ///
    /// # Errors
    /// Invalid input for an unreadable or invalid talosconfig, an unknown context or no
    /// nodes; each message says what to fix.
    pub fn cluster(&self, args: &ClusterArgs) -> anyhow::Result<Cluster> {
        let config = match (&self.sim, &args.talosconfig) {
            (Some(sim), _) => sim.talosconfig()?,
            (None, Some(path)) => TalosConfig::from_path(path).map_err(input)?,
            (None, None) => TalosConfig::load().map_err(input)?,
        };
        let context = config.context(args.context.as_deref()).map_err(input)?;
        let nodes = if args.nodes.is_empty() {
            context.nodes().to_vec()
        } else {
            args.nodes.clone()
        };
        if nodes.is_empty() {
            return Err(invalid_input(format!(
                "talosconfig context {} lists no nodes; pass --nodes NODE,... or add nodes to the context",
                context.name()
            )));
        }
        Ok(Cluster {
            talos: TalosClient::connect(context).map_err(input)?,
            nodes,
            name: context.cluster().unwrap_or(context.name()).to_owned(),
            identity: context.identity().clone(),
        })
    }

    /// The connectivity probe for `cluster`: on a real cluster it asks the local tailscaled
    /// whether this machine is on the tailnet; the embedded sim counts as on the tailnet and
    /// its names lead to the sim's nodes (TLS still verifies them).
    pub fn connectivity_probe(&self, cluster: &Cluster) -> ConnectivityProbe {
        let probe = ConnectivityProbe::new(cluster.identity.clone());
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

    /// The Image Factory client: the sim's, or the URL the flags name (default: the public
    /// factory).
    ///
    /// # Errors
    /// Invalid input for an unusable URL.
    pub fn factory(&self, args: &FactoryArgs) -> anyhow::Result<FactoryClient> {
        let url = match &self.sim {
            Some(sim) => sim.factory_url(),
            None => args
                .factory_url
                .clone()
                .unwrap_or_else(|| DEFAULT_FACTORY_URL.to_owned()),
        };
        FactoryClient::builder()
            .base_url(url)
            .allow_insecure_http(self.allow_insecure_http)
            .build()
            .map_err(input)
    }

    /// The Tailscale API client: the sim's, or the tailnet the flags name with credentials
    /// from the environment.
    ///
    /// # Errors
    /// Invalid input for missing credentials or an unusable URL or tailnet.
    pub fn tailnet(&self, args: &TailnetArgs) -> anyhow::Result<TailscaleClient> {
        let builder = match &self.sim {
            Some(sim) => TailscaleClient::builder()
                .base_url(sim.tailnet_url())
                .credentials(Credentials::api_key(sim.tailnet_api_key().clone())),
            None => {
                let credentials = Credentials::from_env().map_err(|error| {
                    invalid_input(format!(
                        "{error}; export TS_API_KEY (or TS_OAUTH_CLIENT_ID and TS_OAUTH_CLIENT_SECRET)"
                    ))
                })?;
                TailscaleClient::builder()
                    .base_url(args.tailscale_url.as_deref().unwrap_or(DEFAULT_BASE_URL))
                    .tailnet(args.tailnet.as_deref().unwrap_or(DEFAULT_TAILNET))
                    .credentials(credentials)
            }
        };
        builder
            .allow_insecure_http(self.allow_insecure_http)
            .build()
            .map_err(input)
    }
}

/// A client or configuration error found before anything was sent: invalid input.
fn input(error: impl std::fmt::Display) -> anyhow::Error {
    invalid_input(error.to_string())
}
