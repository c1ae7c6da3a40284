//! Runs the simulated Talos cluster, Image Factory, tailnet and Kubernetes API as their own
//! process.
//!
//! Writes `DIR/talosconfig` (0600), `DIR/talosconfig-reader` (0600, `os:reader` only, for
//! least-privilege monitors such as `status`), `DIR/kubeconfig` (0600) and `DIR/sim.json` (0600: the
//! apid endpoint, the factory URL, the tailnet URL, the Kubernetes API URL and the fake
//! Tailscale API key), then serves on loopback until stopped with Ctrl-C (SIGINT); on the way
//! out it writes `DIR/advance.json`, the sim's own record of how long each rebooted node
//! waited, once running and ready, for the next call (what `cargo xtask bench --macro`
//! reads). Every tool can then point at the sim exactly as at a real cluster.
//! It also keeps a record for tests (`DIR/originals/`, `DIR/record.json`: boots per node and
//! the most control-plane nodes down at once).
//! Fault flags make chosen nodes or services misbehave.
//!
//! ```text
//! cargo run --example sim-cluster -- --nodes 3 --out /tmp/sim
//! cargo run --example sim-cluster -- --nodes 6 --control-planes 1 --out /tmp/sim \
//!     --fault-never-returns k8s-4 --fault-tailnet-429 3:2
//! TALOSCONFIG=/tmp/sim/talosconfig talosctl -n 10.5.0.2 version
//! KUBECONFIG=/tmp/sim/kubeconfig kubectl get nodes
//! cargo run --example sim-cluster -- --help
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use examples::exit;
use examples::output::{Output, OutputArgs, init_tracing};
use secrecy::ExposeSecret;
use serde::Serialize;
use sim::tailnet::TailnetOptions;
use sim::talos::{NodeRole, Timings};
use sim::{Faults, Sim};

/// Serve a simulated Talos cluster, Image Factory and tailnet on loopback until Ctrl-C.
#[derive(Parser)]
#[command(name = "sim-cluster", version)]
struct Args {
    /// Number of nodes.
    #[arg(long, default_value_t = 3, value_name = "N")]
    nodes: usize,
    /// How many of the nodes run the control plane (default: all, at most 3).
    #[arg(long, value_name = "N")]
    control_planes: Option<usize>,
    /// Directory for `talosconfig` and `sim.json` (created if missing).
    #[arg(long, value_name = "DIR", default_value = "sim-cluster")]
    out: PathBuf,
    /// Talos version of every node.
    #[arg(long, default_value = sim::DEFAULT_TALOS_VERSION, value_name = "TAG")]
    talos_version: String,
    /// Official extensions installed on every node, comma separated.
    #[arg(long, value_delimiter = ',', value_name = "EXT,...", default_values_t = sim::DEFAULT_EXTENSIONS.iter().map(|e| (*e).to_owned()))]
    extensions: Vec<String>,
    /// Kubernetes service CIDR in the nodes' configuration.
    #[arg(long, default_value = sim::DEFAULT_SERVICE_CIDR, value_name = "CIDR", value_parser = examples::parse::cidr)]
    service_cidr: tailscale_client::IpNet,
    /// Seconds a rebooting node stays down.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    reboot_seconds: u64,
    /// Seconds a legacy upgrade (Talos before 1.13) keeps the node up and busy (installer
    /// running, stage upgrading; a second upgrade or a reboot answered "already running")
    /// before it reboots by itself.
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    install_seconds: u64,
    /// Up to this many extra milliseconds per reboot, spread reproducibly over the nodes.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    reboot_jitter_ms: u64,
    /// Seconds until a freshly logged-in device appears in the tailnet API.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    device_delay_seconds: u64,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    faults: FaultArgs,
}

/// Faults to inject (node faults take the node's hostname, e.g. `k8s-2`).
#[derive(clap::Args)]
#[command(next_help_heading = "Faults")]
struct FaultArgs {
    /// After its next reboot or upgrade the node never comes back.
    #[arg(long, value_name = "NODE")]
    fault_never_returns: Vec<String>,
    /// After its next upgrade the node boots without the tailscale extension.
    #[arg(long, value_name = "NODE")]
    fault_missing_extension: Vec<String>,
    /// The node's reboots take SECS longer.
    #[arg(long, value_name = "NODE=SECS", value_parser = parse_slow_reboot)]
    fault_slow_reboot: Vec<(String, u64)>,
    /// The node's ext-tailscale fails to log in and crash-loops with an auth error.
    #[arg(long, value_name = "NODE")]
    fault_tailscale_auth: Vec<String>,
    /// The node's extension services log their environment and command lines, secrets
    /// included (as a careless entrypoint does); the tools must redact them.
    #[arg(long, value_name = "NODE")]
    fault_verbose_service_logs: Vec<String>,
    /// The node's tailnet device registers but never connects.
    #[arg(long, value_name = "NODE")]
    fault_device_never_connects: Vec<String>,
    /// The node's tailnet device never advertises its routes.
    #[arg(long, value_name = "NODE")]
    fault_routes_never_advertised: Vec<String>,
    /// The next N factory requests answer 500.
    #[arg(long, value_name = "N")]
    fault_factory_5xx: Option<u32>,
    /// The next N tailnet requests answer 429 with Retry-After SECS (default 1).
    #[arg(long, value_name = "N[:SECS]", value_parser = parse_rate_limit)]
    fault_tailnet_429: Option<(u32, u64)>,
    /// Every N-th apid call drops all open connections.
    #[arg(long, value_name = "N")]
    fault_apid_drop_every: Option<u32>,
}

fn parse_slow_reboot(text: &str) -> Result<(String, u64), String> {
    let (node, seconds) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NODE=SECS, got {text:?}"))?;
    let seconds = seconds
        .parse()
        .map_err(|_| format!("SECS must be a whole number of seconds, got {seconds:?}"))?;
    Ok((node.to_owned(), seconds))
}

fn parse_rate_limit(text: &str) -> Result<(u32, u64), String> {
    let (count, seconds) = text.split_once(':').unwrap_or((text, "1"));
    let count = count
        .parse()
        .map_err(|_| format!("N must be a whole number, got {count:?}"))?;
    let seconds = seconds
        .parse()
        .map_err(|_| format!("SECS must be a whole number of seconds, got {seconds:?}"))?;
    Ok((count, seconds))
}

impl FaultArgs {
    /// Every node a fault flag names.
    fn nodes(&self) -> impl Iterator<Item = &String> {
        self.fault_never_returns
            .iter()
            .chain(&self.fault_missing_extension)
            .chain(self.fault_slow_reboot.iter().map(|(node, _)| node))
            .chain(&self.fault_tailscale_auth)
            .chain(&self.fault_verbose_service_logs)
            .chain(&self.fault_device_never_connects)
            .chain(&self.fault_routes_never_advertised)
    }

    /// Refuses a fault for a node the sim does not have (it would silently never fire).
    fn check_nodes(&self, hostnames: &[String]) -> anyhow::Result<()> {
        match self.nodes().find(|node| !hostnames.contains(node)) {
            Some(node) => Err(exit::invalid_input(format!(
                "a fault names node {node:?}, which this sim does not have; its nodes are {}",
                hostnames.join(", ")
            ))),
            None => Ok(()),
        }
    }

    fn apply(&self, faults: &Faults) {
        for node in &self.fault_never_returns {
            faults.node_never_returns(node);
        }
        for node in &self.fault_missing_extension {
            faults.node_returns_without_extension(node, sim::TAILSCALE_EXTENSION);
        }
        for (node, seconds) in &self.fault_slow_reboot {
            faults.slow_reboot(node, Duration::from_secs(*seconds));
        }
        for node in &self.fault_verbose_service_logs {
            faults.verbose_service_logs(node);
        }
        for node in &self.fault_tailscale_auth {
            faults.tailscale_auth_fails(node);
        }
        for node in &self.fault_device_never_connects {
            faults.device_never_connects(node);
        }
        for node in &self.fault_routes_never_advertised {
            faults.routes_never_advertised(node);
        }
        if let Some(count) = self.fault_factory_5xx {
            faults.factory_server_errors(count);
        }
        if let Some((count, seconds)) = self.fault_tailnet_429 {
            faults.tailnet_rate_limited(count, Duration::from_secs(seconds));
        }
        if let Some(every) = self.fault_apid_drop_every {
            faults.apid_drops_connections(every);
        }
    }
}

/// What `sim.json` holds and `--json` prints.
#[derive(Serialize)]
struct Endpoints {
    endpoint: String,
    talosconfig: PathBuf,
    /// A talosconfig whose certificate holds only `os:reader` (for least-privilege monitors).
    reader_talosconfig: PathBuf,
    kubeconfig: PathBuf,
    kube_url: String,
    factory_url: String,
    tailnet_url: String,
    tailnet: &'static str,
    api_key: String,
    oauth_client_id: String,
    oauth_client_secret: String,
    /// The federated identity's client ID and the ID token it trusts (workload identity
    /// federation: `TS_CLIENT_ID` + `TS_ID_TOKEN`).
    federated_client_id: String,
    federated_id_token: String,
    nodes: Vec<NodeInfo>,
}

impl Endpoints {
    /// The same, with the secrets pointing at `sim.json` (for the screen).
    fn without_secrets(self) -> Self {
        let hidden = format!(
            "(in {})",
            self.talosconfig.with_file_name("sim.json").display()
        );
        Self {
            api_key: hidden.clone(),
            oauth_client_secret: hidden.clone(),
            federated_id_token: hidden,
            ..self
        }
    }
}

#[derive(Serialize)]
struct NodeInfo {
    hostname: String,
    address: String,
    role: &'static str,
}

fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    exit::finish(runtime.block_on(run(args)))
}

async fn run(args: Args) -> anyhow::Result<u8> {
    if args.nodes == 0 {
        return Err(exit::invalid_input("--nodes must be at least 1"));
    }
    let control_planes = args.control_planes.unwrap_or(args.nodes.min(3));
    if control_planes == 0 || control_planes > args.nodes {
        return Err(exit::invalid_input(format!(
            "--control-planes must be between 1 and --nodes ({})",
            args.nodes
        )));
    }
    sdk_support::private_file::create_dirs(&args.out).map_err(|error| {
        exit::invalid_input(format!(
            "cannot create --out {}: {error}; choose a writable directory",
            args.out.display()
        ))
    })?;
    let output = Output::new(&args.output);
    let faults = Faults::default();
    args.faults.apply(&faults);
    let sim = Sim::builder()
        .control_planes(control_planes)
        .workers(args.nodes - control_planes)
        .talos_version(args.talos_version.clone())
        .extensions(args.extensions.clone())
        .service_cidr(args.service_cidr.to_string())
        .timings(Timings {
            reboot: Duration::from_secs(args.reboot_seconds),
            install: Duration::from_secs(args.install_seconds),
            ..Timings::default()
        })
        .reboot_jitter(Duration::from_millis(args.reboot_jitter_ms))
        .tailnet(TailnetOptions {
            appear_delay: Duration::from_secs(args.device_delay_seconds),
            ..TailnetOptions::default()
        })
        .faults(faults)
        .start()
        .await
        .map_err(|error| {
            if error.is_invalid_setup() {
                exit::invalid_input(error.to_string())
            } else {
                anyhow::Error::new(error).context("cannot start the simulated cluster")
            }
        })?;
    let hostnames: Vec<String> = sim
        .cluster()
        .specs()
        .into_iter()
        .map(|spec| spec.hostname)
        .collect();
    args.faults.check_nodes(&hostnames)?;
    // Ctrl-C is handled from the moment sim.json announces the sim: the handler is
    // registered at the future's first poll, so poll it once before writing the files.
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    tokio::select! {
        biased;
        stopped = &mut stop => {
            stopped.context("cannot wait for Ctrl-C")?;
            return Ok(exit::SUCCESS);
        }
        () = std::future::ready(()) => {}
    }
    let endpoints = write_files(&sim, &args.out)?;
    output.result(&endpoints.without_secrets(), human_summary);
    output.note("serving; press Ctrl-C to stop");
    let mut record = Record::start(&sim, &args.out)?;
    loop {
        tokio::select! {
            stopped = &mut stop => {
                stopped.context("cannot wait for Ctrl-C")?;
                break;
            }
            () = tokio::time::sleep(RECORD_EVERY) => record.sample(&sim)?,
        }
    }
    output.note("stopping");
    write_advance_record(&sim, &args.out)?;
    sim.shutdown().await;
    Ok(exit::SUCCESS)
}

/// How often the record samples the nodes.
const RECORD_EVERY: Duration = Duration::from_millis(10);

/// What the cluster went through, for tests that run the tools as processes:
/// `DIR/originals/<hostname>.machineconfig.yaml` (each node's machine config at start,
/// exact bytes, 0600) and `DIR/record.json` (per node its boots so far; the most
/// control-plane nodes seen down at once), rewritten whenever it changes.
struct Record {
    path: PathBuf,
    control_planes: Vec<String>,
    /// Each node's boot count as last written, in node order (empty before the first write).
    boots: Vec<u32>,
    max_control_planes_down: usize,
}

impl Record {
    fn start(sim: &Sim, out: &Path) -> anyhow::Result<Self> {
        let specs = sim.cluster().specs();
        for spec in &specs {
            let Some(snapshot) = sim.cluster().snapshot(&spec.hostname) else {
                continue;
            };
            let path = out
                .join("originals")
                .join(format!("{}.machineconfig.yaml", spec.hostname));
            sdk_support::private_file::write(&path, &snapshot.config)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut record = Record {
            path: out.join("record.json"),
            control_planes: specs
                .iter()
                .filter(|spec| spec.role == NodeRole::ControlPlane)
                .map(|spec| spec.hostname.clone())
                .collect(),
            boots: Vec::new(),
            max_control_planes_down: 0,
        };
        record.sample(sim)?;
        Ok(record)
    }

    fn sample(&mut self, sim: &Sim) -> anyhow::Result<()> {
        let nodes = sim.cluster().boots();
        let down = nodes
            .iter()
            .filter(|node| !node.up && self.control_planes.contains(&node.hostname))
            .count();
        let max_down = self.max_control_planes_down.max(down);
        let boots: Vec<u32> = nodes.iter().map(|node| node.boots).collect();
        if boots == self.boots && max_down == self.max_control_planes_down {
            return Ok(());
        }
        let record = serde_json::json!({
            "boots": nodes
                .into_iter()
                .map(|node| (node.hostname, node.boots.into()))
                .collect::<serde_json::Map<String, serde_json::Value>>(),
            "max_control_planes_down": max_down,
        });
        sdk_support::private_file::write(&self.path, &serde_json::to_vec_pretty(&record)?)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        self.boots = boots;
        self.max_control_planes_down = max_down;
        Ok(())
    }
}

fn write_files(sim: &Sim, out: &Path) -> anyhow::Result<Endpoints> {
    let talosconfig = out.join("talosconfig");
    sim.talosconfig()?.write_to(&talosconfig)?;
    let reader_talosconfig = out.join("talosconfig-reader");
    sim.talosconfig_with_roles(&["os:reader"])?
        .write_to(&reader_talosconfig)?;
    let kubeconfig = out.join("kubeconfig");
    sdk_support::private_file::write(&kubeconfig, sim.kubeconfig()?.expose_secret().as_bytes())
        .with_context(|| format!("cannot write {}", kubeconfig.display()))?;
    let (oauth_client_id, oauth_client_secret) = sim.tailnet().oauth_client();
    let (federated_client_id, federated_id_token) = sim.tailnet().federated_identity();
    let endpoints = Endpoints {
        endpoint: sim.endpoint(),
        talosconfig: talosconfig.clone(),
        reader_talosconfig,
        kubeconfig,
        kube_url: sim.kube_url(),
        factory_url: sim.factory_url(),
        tailnet_url: sim.tailnet_url(),
        tailnet: "-",
        api_key: sim.tailnet_api_key().expose_secret().to_owned(),
        oauth_client_id: oauth_client_id.to_owned(),
        oauth_client_secret: oauth_client_secret.expose_secret().to_owned(),
        federated_client_id: federated_client_id.to_owned(),
        federated_id_token: federated_id_token.expose_secret().to_owned(),
        nodes: sim
            .cluster()
            .specs()
            .into_iter()
            .map(|spec| NodeInfo {
                hostname: spec.hostname,
                address: spec.address.to_string(),
                role: match spec.role {
                    NodeRole::ControlPlane => "controlplane",
                    NodeRole::Worker => "worker",
                },
            })
            .collect(),
    };
    let json_path = out.join("sim.json");
    let json = serde_json::to_vec_pretty(&endpoints)?;
    sdk_support::private_file::write(&json_path, &json)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    Ok(endpoints)
}

/// What `advance.json` holds.
#[derive(Serialize)]
struct AdvanceRecord {
    /// Per reboot: running + ready → the next call for that node, in milliseconds.
    advance_delays_ms: Vec<f64>,
}

fn write_advance_record(sim: &Sim, out: &Path) -> anyhow::Result<()> {
    let record = AdvanceRecord {
        advance_delays_ms: sim
            .cluster()
            .advance_delays()
            .iter()
            .map(|delay| delay.as_secs_f64() * 1000.0)
            .collect(),
    };
    let path = out.join("advance.json");
    let json = serde_json::to_vec_pretty(&record)?;
    sdk_support::private_file::write(&path, &json)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn human_summary(endpoints: &Endpoints) -> String {
    let mut text = format!(
        "simulated cluster up\n  apid endpoint  {}\n  talosconfig    {}\n  kubernetes API {} (kubeconfig {})\n  factory        {}\n  tailnet API    {}/api/v2 (tailnet \"-\"; API key in sim.json)\n  nodes\n",
        endpoints.endpoint,
        endpoints.talosconfig.display(),
        endpoints.kube_url,
        endpoints.kubeconfig.display(),
        endpoints.factory_url,
        endpoints.tailnet_url,
    );
    for node in &endpoints.nodes {
        text.push_str(&format!(
            "    {:<8} {:<12} {}\n",
            node.hostname, node.address, node.role
        ));
    }
    text
}
