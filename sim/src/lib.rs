//! A simulated Talos cluster, Image Factory, tailnet and Kubernetes API served on loopback for tests, benchmarks and demos.
//!
//! [`Sim`] starts all four: Talos nodes behind one apid-like gRPC endpoint with real
//! mutual TLS ([`talos`], [`mtls`], [`pki`]), an Image Factory ([`factory`]), a
//! Tailscale admin API ([`tailnet`]) and a Kubernetes API over HTTPS ([`kube`]). Clients
//! reach them exactly as they reach the real systems (a talosconfig, a kubeconfig, a
//! factory URL, a tailnet URL and an API key), and [`Faults`]
//! make chosen parts misbehave. Behaviour follows the facts the clients rely on: `node`
//! metadata routing, RBAC from the certificate's roles, strict configuration, reboots that
//! drop streams and come back with a new boot ID and the installed schematic's extensions,
//! extension services (`ext-tailscale` logging in with its `TS_AUTHKEY`, `ext-nut-client`
//! waiting for its config, `ext-iscsid`), devices that appear late.
//!
//! It is the workspace's one model of a Talos node: tests that need a node to misbehave
//! flip a [`Faults`] switch (a missing lifecycle API, a failing installer, a stalling pull,
//! abrupt reboots, stale boot-ID reads, services that log their secrets, …) and check what
//! apid received with
//! [`talos::TalosCluster::received_calls`].
//!
//! # Usage
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use talos_client::TalosClient;
//!
//! let sim = sim::Sim::builder().workers(2).start().await?;
//! let config = sim.talosconfig()?;
//! let talos = TalosClient::connect(config.context(None)?)?;
//! let version = talos.node("k8s-4").version().await?;
//! assert_eq!(version.tag, sim::DEFAULT_TALOS_VERSION);
//! sim.faults().node_never_returns("k8s-4");
//! # Ok(()) }
//! ```

pub mod clock;
mod error;
pub mod factory;
mod faults;
mod http_server;
pub mod kube;
pub mod mtls;
pub mod pki;
pub mod samples;
mod sim;
pub mod tailnet;
pub mod talos;

pub use error::Error;
pub use faults::{Faults, TAILSCALE_EXTENSION};
pub use http_server::HttpServer;
pub use sim::{
    CONTEXT_NAME, DEFAULT_EXTENSIONS, DEFAULT_SERVICE_CIDR, DEFAULT_TALOS_VERSION, MAX_NODES, Sim,
    SimBuilder, TailnetDns,
};
