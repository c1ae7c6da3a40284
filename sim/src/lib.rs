//! A simulated Talos cluster, Image Factory and tailnet served on loopback for tests, benchmarks and demos.
//!
//! Start with [`pki`] (a Talos-style Ed25519 CA and role-carrying client certificates) and
//! [`mtls`] (serving a tonic router over mutual TLS with the peer's roles visible to
//! handlers).

pub mod clock;
mod error;
pub mod factory;
mod faults;
mod http_server;
pub mod mtls;
pub mod pki;
mod sim;
pub mod tailnet;
pub mod talos;

pub use error::Error;
pub use faults::{Faults, TAILSCALE_EXTENSION};
pub use http_server::HttpServer;
pub use sim::{
    CONTEXT_NAME, DEFAULT_EXTENSIONS, DEFAULT_SERVICE_CIDR, DEFAULT_TALOS_VERSION, Sim, SimBuilder,
};
