//! A simulated Talos cluster, Image Factory and tailnet served on loopback for tests, benchmarks and demos.
//!
//! Start with [`pki`] (a Talos-style Ed25519 CA and role-carrying client certificates) and
//! [`mtls`] (serving a tonic router over mutual TLS with the peer's roles visible to
//! handlers).

mod error;
pub mod mtls;
pub mod pki;

pub use error::Error;
