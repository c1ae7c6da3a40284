//! Typed gRPC client for the Talos Linux machine API and COSI resources, with mTLS from a talosconfig.
//!
//! Start with [`TalosClient`]: build it from a talosconfig [`Context`](config::Context)
//! (or with [`TalosClient::builder`]), then route calls to a node with
//! [`TalosClient::node`]. A [`NodeClient`] has the typed machine API calls (see
//! [`machine`]), COSI resource reads (see [`resources`]), and [`upgrade`] has the
//! upgrade and reboot helpers that wait the way `talosctl` does. Every failure is an
//! [`Error`] with predicates such as [`Error::is_unavailable`].
//!
//! # Usage
//!
//! Reading a node's extensions and its Image Factory schematic ID:
//!
//! ```no_run
//! # async fn run() -> Result<(), talos_client::Error> {
//! use talos_client::{TalosClient, config::TalosConfig};
//!
//! let config = TalosConfig::load()?;
//! let client = TalosClient::connect(config.context(None)?)?;
//! let node = client.node("10.0.0.2");
//! for extension in node.extensions().await? {
//!     println!("{} {}", extension.name(), extension.version());
//! }
//! println!("schematic: {:?}", node.schematic_id().await?);
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! - `client` (default): everything that talks to a node: [`TalosClient`], the
//!   talosconfig ([`config`]), the client identity ([`identity`]), the machine API
//!   ([`machine`], [`methods`]), COSI resources ([`resources`]), [`upgrade`], the
//!   crate's [`Error`] and the generated protobuf messages and client stubs ([`proto`]).
//!   It brings in tokio, tonic, rustls, hyper and tower.
//! - `server`: also compiles the generated gRPC server stubs (`proto::*::*_server`
//!   modules); implies `client`. Only a server implementation (the simulator) needs it.
//!
//! Without `client` the crate is pure, with no async runtime, network or TLS:
//! [`machine_config`] (machine-config documents and the `ExtensionServiceConfig` type) and
//! [`version`] (version gates such as [`version::supports_lifecycle_api`]). A planning
//! core depends on it with `default-features = false`.

// The crate documentation above describes the `client` items, which a pure build lacks.
#![cfg_attr(not(feature = "client"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub mod config;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
pub mod identity;
#[cfg(feature = "client")]
pub mod machine;
pub mod machine_config;
#[cfg(feature = "client")]
pub mod methods;
#[cfg(feature = "client")]
pub mod resources;
#[cfg(feature = "client")]
mod transport;
#[cfg(feature = "client")]
pub mod upgrade;
pub mod version;

#[cfg(feature = "client")]
pub use client::{NodeClient, TalosClient, TalosClientBuilder};
#[cfg(feature = "client")]
pub use error::{CallTarget, Code, Error};

/// Protobuf messages and gRPC client stubs generated from `talos-client/proto` by
/// `cargo xtask codegen` (packages `common`, `machine`, `cluster`, `cosi.resource`,
/// `google.rpc`, `resource.config` and `talos.resource.definitions.*`); the server stubs
/// (`*_server` modules) are compiled only with the `server` feature.
#[cfg(feature = "client")]
#[allow(
    missing_docs,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]
#[path = "generated/mod.rs"]
pub mod proto;
