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

mod client;
pub mod config;
mod error;
pub mod identity;
pub mod machine;
pub mod machine_config;
pub mod methods;
pub mod resources;
mod transport;
pub mod upgrade;

pub use client::{NodeClient, TalosClient, TalosClientBuilder};
pub use error::{CallTarget, Code, Error};

/// Protobuf messages and gRPC client/server stubs generated from `talos-client/proto`
/// by `cargo xtask codegen` (packages `common`, `machine`, `cluster`, `cosi.resource`,
/// `google.rpc`, `resource.config` and `talos.resource.definitions.*`).
#[allow(
    missing_docs,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]
#[path = "generated/mod.rs"]
pub mod proto;
