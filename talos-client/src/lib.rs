//! Typed gRPC client for the Talos Linux machine API and COSI resources, with mTLS from a talosconfig.

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
